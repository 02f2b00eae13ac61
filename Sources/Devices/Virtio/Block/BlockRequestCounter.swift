import Synchronization

/// The block device's request counts (`VirtioBlock.Counters`), shared with the async engine's
/// completion context, which counts the requests that finish on the engine's thread.
final class BlockRequestCounter: Sendable {
    private let counts = Mutex(VirtioBlock.Counters())

    var current: VirtioBlock.Counters { counts.withLock { $0 } }

    func count(_ request: BlockRequest, succeeded: Bool) {
        counts.withLock { counters in
            guard succeeded else {
                counters.failedRequests += 1
                return
            }
            switch BlockRequest.Kind(rawValue: request.type) {
            case .read:
                counters.reads += 1
                counters.readBytes += BlockRequest.total(request.writableData)
            case .write:
                counters.writes += 1
                counters.writtenBytes += BlockRequest.total(request.readableData)
            case .flush: counters.flushes += 1
            case .discard: counters.discards += 1
            case .writeZeroes: counters.zeroedRanges += 1
            case .getID, nil: break
            }
        }
    }
}
