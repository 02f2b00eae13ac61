import CIOUring
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Block I/O through io_uring (liburing): the device's worker queues and submits, and a reaper
/// thread waits for completions and hands them to the device in batches. The ring only accepts
/// READV, WRITEV, FSYNC and NOP (see `ciouring_create`).
///
/// Releasing the engine never waits: it asks the reaper to stop, and the reaper goes once every
/// request submitted before has completed, releasing the ring and the completion handler (and
/// what the handler keeps for requests in flight) then. So the engine may be released on any
/// thread, its own reaper's included.
final class IOURingEngine: BlockIOEngine {
    let name = "io_uring"
    /// Tells the reaper to end; no request's token has every bit set (see the block device's tokens).
    private static let stopToken = UInt64.max
    private static let batch = 64

    /// The ring and what the reaper needs, shared so the reaper never holds the engine.
    private final class Ring: @unchecked Sendable {
        let pointer: OpaquePointer
        let handler: BlockIOCompletionHandler
        /// Requests submitted and not yet reaped.
        let outstanding = Atomic<Int>(0)
        init(pointer: OpaquePointer, handler: @escaping BlockIOCompletionHandler) {
            self.pointer = pointer
            self.handler = handler
        }
        deinit { ciouring_destroy(pointer) }

        func reap() {
            var tokens = [UInt64](repeating: 0, count: IOURingEngine.batch)
            var results = [Int32](repeating: 0, count: IOURingEngine.batch)
            var stopping = false
            while !stopping || outstanding.load(ordering: .acquiring) > 0 {
                let count = ciouring_reap(pointer, &tokens, &results, UInt32(IOURingEngine.batch))
                // Only EINTR (retried in C) or a broken ring fail here; the device's requests
                // would then never complete, so the ring is not trusted any further.
                guard count >= 0 else { break }
                var completions: [BlockIOCompletion] = []
                completions.reserveCapacity(Int(count))
                for index in 0..<Int(count) {
                    if tokens[index] == IOURingEngine.stopToken {
                        stopping = true
                    } else {
                        completions.append(.init(token: tokens[index], result: results[index]))
                    }
                }
                if !completions.isEmpty {
                    handler(completions)
                    outstanding.subtract(completions.count, ordering: .releasing)
                }
            }
        }
    }

    private let ring: Ring

    /// nil where the kernel refuses io_uring (the caller falls back to threads), with the
    /// errno in `refusal`; throws only when the reaper thread cannot start.
    init?(deviceName: String, depth: Int, handler: @escaping BlockIOCompletionHandler, refusal: inout Int32) throws(VirtioError) {
        var error: Int32 = 0
        guard let pointer = ciouring_create(UInt32(clamping: min(max(depth, 8), 4096)), &error) else {
            refusal = -error
            return nil
        }
        let ring = Ring(pointer: pointer, handler: handler)
        self.ring = ring
        try DeviceThread.start(name: deviceName, what: "io_uring reaper") { ring.reap() }
    }

    /// Asks the reaper to stop once everything submitted has completed. Nothing can be queued
    /// any more, so the submission side is free for the stop request.
    deinit {
        if ciouring_queue_nop(ring.pointer, Self.stopToken) == 0 { _ = ciouring_submit(ring.pointer) }
    }

    func enqueue(_ operation: BlockIOOperation) -> Bool {
        let result: Int32
        switch operation.kind {
        case .read:
            result = ciouring_queue_readv(ring.pointer, operation.descriptor, operation.vectors, UInt32(operation.vectorCount), operation.offset, operation.token)
        case .write:
            result = ciouring_queue_writev(ring.pointer, operation.descriptor, operation.vectors, UInt32(operation.vectorCount), operation.offset, operation.token)
        case .flush:
            result = ciouring_queue_fdatasync(ring.pointer, operation.descriptor, operation.token)
        }
        guard result == 0 else { return false }
        ring.outstanding.add(1, ordering: .relaxed)
        return true
    }

    func submitQueued() {
        // A failed submit leaves the entries queued; the next pass submits them again, and the
        // device's drain waits for them, so nothing is lost silently.
        _ = ciouring_submit(ring.pointer)
    }
}
