#if canImport(Glibc)
import Glibc
#endif
import SwiftletCore

/// One read, write or flush handed to an I/O engine. The vectors live in the device's in-flight
/// table and point into guest RAM; both stay put until the completion arrives.
struct BlockIOOperation: @unchecked Sendable {
    enum Kind: Sendable { case read, write, flush }

    var kind: Kind
    var descriptor: Int32
    var vectors: UnsafeMutablePointer<iovec>?
    var vectorCount: Int
    var offset: UInt64
    /// Identifies the request to the device when its completion comes back.
    var token: UInt64
}

/// What finished: the operation's token and the bytes moved, or a negative errno.
struct BlockIOCompletion: Sendable, Equatable {
    var token: UInt64
    var result: Int32
}

/// Where a block device's reads, writes and flushes run when they may finish out of order:
/// io_uring, or a few threads where the kernel refuses io_uring. Completions are delivered in
/// batches, on the engine's own thread, to the handler the engine was built with.
protocol BlockIOEngine: AnyObject, Sendable {
    /// "io_uring" or "threads", with the reason io_uring was refused (`VirtioBlock.asynchronousEngineName`).
    var name: String { get }
    /// Queues `operation`; false when the engine has no room now (the caller then runs the
    /// request itself). Called on the device's worker only.
    func enqueue(_ operation: BlockIOOperation) -> Bool
    /// Starts everything queued since the last call. Called on the device's worker only.
    func submitQueued()
}

typealias BlockIOCompletionHandler = @Sendable ([BlockIOCompletion]) -> Void

/// Which engine a block device uses for its asynchronous requests (Firecracker's `io_engine`
/// `Async`). Tests pick the thread pool explicitly, to cover the fallback.
enum BlockIOEngineChoice: Sendable {
    /// io_uring, else the thread pool.
    case automatic
    case threadPool
    /// An engine the caller builds around the handler (tests that decide completion order).
    case supplied(@Sendable (@escaping BlockIOCompletionHandler) -> any BlockIOEngine)

    func makeEngine(name: String, depth: Int, handler: @escaping BlockIOCompletionHandler) throws(VirtioError) -> any BlockIOEngine {
        switch self {
        case .automatic:
            var refusal: Int32 = 0
            if let ring = try IOURingEngine(deviceName: name, depth: depth, handler: handler, refusal: &refusal) { return ring }
            return try ThreadPoolEngine(deviceName: name, fallbackReason: "io_uring refused: \(SystemError.message(refusal))", handler: handler)
        case .threadPool:
            return try ThreadPoolEngine(deviceName: name, handler: handler)
        case .supplied(let make):
            return make(handler)
        }
    }
}

extension BlockIOOperation {
    /// IOV_MAX, which the Glibc module does not export.
    private static let vectorsPerCall = 1024

    /// Runs the operation on this thread until every byte has moved: a thread pool's way, and
    /// how the device finishes a transfer that io_uring ended short (`skipping` the bytes that
    /// did move). Returns the bytes moved in all, or a negative errno (EIO for an end of file
    /// inside the transfer).
    func runToTheEnd(skipping alreadyMoved: Int = 0) -> Int32 {
        if kind == .flush { return retryingOnInterrupt { fdatasync(descriptor) } == 0 ? 0 : -errno }
        guard let vectors, vectorCount > 0 else { return 0 }
        // A private copy to advance through: the original stays as the device described it.
        var remaining = Array(UnsafeMutableBufferPointer(start: vectors, count: vectorCount))
        var first = 0
        var moved = 0
        func advance(by bytes: Int) {
            moved += bytes
            var left = bytes
            while first < remaining.count, left >= remaining[first].iov_len {
                left -= remaining[first].iov_len
                first += 1
            }
            if left > 0 {
                remaining[first].iov_base += left
                remaining[first].iov_len -= left
            }
        }
        advance(by: alreadyMoved)
        while first < remaining.count {
            let position = off_t(truncatingIfNeeded: offset + UInt64(moved))
            let count = remaining.withUnsafeMutableBufferPointer { buffer -> Int in
                let start = buffer.baseAddress! + first
                let chunks = Int32(min(buffer.count - first, Self.vectorsPerCall))
                return kind == .read ? preadv(descriptor, start, chunks, position) : pwritev(descriptor, start, chunks, position)
            }
            if count < 0 {
                if errno == EINTR { continue }
                return -errno
            }
            if count == 0 { return -EIO }
            advance(by: count)
        }
        return Int32(clamping: moved)
    }
}
