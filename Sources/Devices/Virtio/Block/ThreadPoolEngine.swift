import Dispatch
import Synchronization

/// Block I/O on a few threads of their own, where the kernel refuses io_uring: each takes the
/// next operation, runs it with preadv/pwritev/fdatasync to the end, and reports it alone.
/// Releasing the engine never waits: each thread ends after the operations queued before.
final class ThreadPoolEngine: BlockIOEngine {
    let name: String
    static let threadCount = 4

    /// What the threads share; they hold it, never the engine, so the engine can go first.
    private final class Pool: Sendable {
        /// `nil` ends one thread.
        let operations = Mutex<[BlockIOOperation?]>([])
        let waiting = DispatchSemaphore(value: 0)
        let handler: BlockIOCompletionHandler
        init(handler: @escaping BlockIOCompletionHandler) { self.handler = handler }

        func post(_ operation: BlockIOOperation?) {
            operations.withLock { $0.append(operation) }
            waiting.signal()
        }

        func serve() {
            while true {
                waiting.wait()
                guard let operation = operations.withLock({ $0.removeFirst() }) else { break }
                handler([BlockIOCompletion(token: operation.token, result: operation.runToTheEnd())])
            }
        }
    }

    private let pool: Pool
    private let started: Int

    /// `fallbackReason`: why io_uring was not used, shown in `name` (the log says which engine
    /// a drive got, and a user who asked for Async wants to know why it is not io_uring).
    init(deviceName: String, fallbackReason: String? = nil, handler: @escaping BlockIOCompletionHandler) throws(VirtioError) {
        name = fallbackReason.map { "threads (\($0))" } ?? "threads"
        let pool = Pool(handler: handler)
        self.pool = pool
        var started = 0
        for _ in 0..<Self.threadCount {
            do {
                try DeviceThread.start(name: deviceName, what: "I/O threads") { pool.serve() }
                started += 1
            } catch {
                for _ in 0..<started { pool.post(nil) }
                throw error
            }
        }
        self.started = started
    }

    deinit {
        for _ in 0..<started { pool.post(nil) }
    }

    func enqueue(_ operation: BlockIOOperation) -> Bool {
        pool.post(operation)
        return true
    }

    func submitQueued() {}
}
