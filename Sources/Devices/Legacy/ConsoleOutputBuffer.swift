import Dispatch
import SwiftletCore
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The guest console's way to a host file descriptor that never blocks the guest.
///
/// `write` only copies into a bounded buffer; a writer on its own queue does the blocking
/// `write(2)`s. When the descriptor stops draining (a full pipe nobody reads, a stopped
/// terminal) the buffer fills and further bytes are dropped and counted, as Firecracker does,
/// so the vCPU that wrote them, and a pause waiting for that vCPU, carry on.
public final class ConsoleOutputBuffer: Sendable {
    public static let defaultCapacity = 64 << 10

    private struct Pending {
        var bytes: ByteRing
        var writerScheduled = false
        /// Every byte the guest wrote, whether it reached the descriptor or not.
        var offered: UInt64 = 0
        var dropped: UInt64 = 0
        /// The descriptor failed (EPIPE, EIO): everything from now on is dropped.
        var closed = false
    }

    private let fd: Int32
    private let pending: Mutex<Pending>
    private let writer = DispatchQueue(label: "swiftlet.console-output")

    public init(fd: Int32, capacity: Int = ConsoleOutputBuffer.defaultCapacity) {
        self.fd = fd
        pending = Mutex(Pending(bytes: ByteRing(capacity: capacity)))
    }

    /// Bytes dropped because the buffer was full or the descriptor failed.
    public var droppedBytes: UInt64 { pending.withLock { $0.dropped } }

    /// Bytes given to `write`, dropped ones included (the metrics' serial write count).
    public var offeredBytes: UInt64 { pending.withLock { $0.offered } }

    /// Queues `bytes` for the writer; never waits for the descriptor.
    public func write(_ bytes: [UInt8]) {
        let startWriter = pending.withLock { pending -> Bool in
            pending.offered += UInt64(bytes.count)
            guard !pending.closed else {
                pending.dropped += UInt64(bytes.count)
                return false
            }
            let kept = pending.bytes.append(contentsOf: bytes)
            pending.dropped += UInt64(bytes.count - kept)
            guard kept > 0, !pending.writerScheduled else { return false }
            pending.writerScheduled = true
            return true
        }
        if startWriter { writer.async { self.drain() } }
    }

    /// Waits up to `timeout` for what is buffered to reach the descriptor (before exiting).
    /// Returns false if the descriptor did not take it in time.
    @discardableResult
    public func finish(timeout: DispatchTimeInterval = .seconds(2)) -> Bool {
        let done = DispatchSemaphore(value: 0)
        writer.async { done.signal() }
        return done.wait(timeout: .now() + timeout) == .success
    }

    private func drain() {
        while true {
            let chunk = pending.withLock { pending -> [UInt8]? in
                guard !pending.bytes.isEmpty else {
                    pending.writerScheduled = false
                    return nil
                }
                defer { pending.bytes.removeAll() }
                return pending.bytes.contents
            }
            guard let chunk else { return }
            if !writeAll(chunk) {
                pending.withLock { pending in
                    pending.closed = true
                    pending.dropped += UInt64(chunk.count + pending.bytes.count)
                    pending.bytes.removeAll()
                }
            }
        }
    }

    private func writeAll(_ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = retryingOnInterrupt { Glibc.write(fd, buffer.baseAddress! + offset, buffer.count - offset) }
                if written < 0 {
                    // A descriptor someone else made non-blocking: wait on this queue, not the vCPU's.
                    // A short sleep: this is rare, and the writer queue is the only one waiting.
                    guard errno == EAGAIN else { return false }
                    usleep(1_000)
                    continue
                }
                offset += written
            }
            return true
        }
    }
}
