#if canImport(Glibc)
import Glibc
#endif

/// The asynchronous engine (`io_engine` Async): reads, writes and flushes go to io_uring (or a
/// thread pool) and finish in whatever order the host completes them; every other request, and
/// any the engine cannot take, still runs at once on the worker.
extension VirtioBlock {
    /// Hands `request` to the engine if it is a read, write or flush that passed every check.
    /// Returns false when the caller should run it synchronously instead: a request that fails
    /// its checks is answered there with the same status either way.
    func startAsynchronously(
        _ request: BlockRequest, chain: DescriptorChain, queue: Virtqueue, file: BlockBackingFile, through asynchronous: BlockAsynchronousIO
    ) throws(VirtioBlockRequestError) -> Bool {
        let table = asynchronous.context.table
        guard !table.isBusy(queue: queue.index, head: chain.head) else { throw .headInFlight(chain.head) }
        let kind: BlockIOOperation.Kind
        let buffers: [GuestBuffer]
        switch BlockRequest.Kind(rawValue: request.type) {
        case .read:
            guard request.readableData.isEmpty else { return false }
            (kind, buffers) = (.read, request.writableData)
        case .write:
            guard !readOnly, request.writableData.isEmpty else { return false }
            (kind, buffers) = (.write, request.readableData)
        case .flush:
            guard cacheType == .writeback, request.readableData.isEmpty, request.writableData.isEmpty else { return false }
            (kind, buffers) = (.flush, [])
        default:
            return false
        }
        let length = BlockRequest.total(buffers)
        var offset: UInt64 = 0
        if kind != .flush {
            guard let start = fileOffset(request, length: length, file: file) else { return false }
            offset = start
        }
        let vectors = table.vectors(queue: queue.index, head: chain.head, count: max(buffers.count, 1))
        for (index, buffer) in buffers.enumerated() {
            guard let memory = try? (kind == .read ? chain.writableContents(of: buffer) : UnsafeMutableRawBufferPointer(mutating: chain.contents(of: buffer)))
            else { return false }
            vectors[index] = iovec(iov_base: memory.baseAddress, iov_len: memory.count)
        }
        // O_DIRECT refuses buffers off its alignment; those go through the synchronous bounce.
        if file.direct && !UnsafeBufferPointer(start: vectors, count: buffers.count).allSatisfy({ BlockBackingFile.isDirectAligned($0.iov_base, count: $0.iov_len) }) {
            return false
        }
        let operation = BlockIOOperation(
            kind: kind, descriptor: file.descriptor, vectors: vectors, vectorCount: buffers.count, offset: offset,
            token: table.token(queue: queue.index, head: chain.head))
        table.insert(.init(chain: chain, request: request, operation: operation, expectedBytes: length, file: file), queue: queue.index)
        asynchronous.context.tracker.started()
        guard asynchronous.engine.enqueue(operation) else {
            _ = table.take(token: operation.token)
            asynchronous.context.tracker.posted(1)
            return false
        }
        return true
    }

    /// Waits for the engine's requests to finish and forgets them: on a reset or restore,
    /// before the queues go, so no completion writes into a ring the driver has taken back.
    func abandonAsynchronousRequests() {
        guard let context = asynchronous?.context else { return }
        _ = context.tracker.waitUntilAllPosted()
        context.table.clear()
    }
}

/// What finishing an asynchronous request needs, apart from the device: the in-flight table,
/// the tracker the transport's drain waits on, the trigger that reaches the queues and the
/// counters. The engine's completion handler holds it, so it lives as long as the engine's
/// threads, which may outlive the device by the requests still in flight.
final class BlockCompletionContext: Sendable {
    let table: BlockInFlightTable
    let tracker = AsynchronousWorkTracker()
    let trigger: SharedTrigger
    let counter: BlockRequestCounter

    init(table: BlockInFlightTable, trigger: SharedTrigger, counter: BlockRequestCounter) {
        self.table = table
        self.trigger = trigger
        self.counter = counter
    }

    /// On an engine thread: answers a batch of finished requests in their queues' used rings,
    /// queue by queue, on this thread (`completeRequests` takes the queue's lock), so a
    /// completion costs no further thread switch.
    func deliver(_ completions: [BlockIOCompletion]) {
        defer { tracker.posted(completions.count) }
        guard let trigger = trigger.current, let firstCompletion = completions.first else { return }
        let first = Self.queueIndex(of: firstCompletion.token)
        if completions.allSatisfy({ Self.queueIndex(of: $0.token) == first }) {
            trigger.completeRequests(queue: first) { queue in try self.finish(completions, on: queue) }
            return
        }
        for index in Set(completions.map { Self.queueIndex(of: $0.token) }) {
            let mine = completions.filter { Self.queueIndex(of: $0.token) == index }
            trigger.completeRequests(queue: index) { queue in try self.finish(mine, on: queue) }
        }
    }

    private static func queueIndex(of token: UInt64) -> Int { Int(truncatingIfNeeded: (token >> 16) & 0xFFFF) }

    /// Under the queue's lock: answers each finished request in the used ring. A transfer the
    /// host ended short is finished here, synchronously (rare: io_uring stops short only at odd
    /// moments).
    private func finish(_ completions: [BlockIOCompletion], on queue: Virtqueue) throws {
        for completion in completions {
            guard let (index, entry) = table.take(token: completion.token), index == queue.index else { continue }
            var result = completion.result
            if result >= 0, entry.operation.kind != .flush, UInt64(result) < entry.expectedBytes {
                result = entry.operation.runToTheEnd(skipping: Int(result))
            }
            let succeeded = result >= 0 && (entry.operation.kind == .flush || UInt64(result) == entry.expectedBytes)
            let status: VirtioBlock.Status = succeeded ? .ok : .ioError
            counter.count(entry.request, succeeded: succeeded)
            try entry.chain.write(status.rawValue, to: entry.request.status)
            let written = succeeded && entry.operation.kind == .read ? UInt32(truncatingIfNeeded: entry.expectedBytes + 1) : 1
            try queue.addUsed(head: entry.chain.head, length: written)
        }
    }
}

/// The device's side of the async engine: the engine it submits to and the context its
/// completions use.
final class BlockAsynchronousIO: Sendable {
    let engine: any BlockIOEngine
    let context: BlockCompletionContext

    init(engine: any BlockIOEngine, context: BlockCompletionContext) {
        self.engine = engine
        self.context = context
    }
}
