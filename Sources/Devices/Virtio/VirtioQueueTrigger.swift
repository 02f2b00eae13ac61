/// How a device asks for one of its queues to be processed when the work comes from outside
/// the guest: a frame waiting in a tap, bytes on a host socket.
///
/// The core hands each device one trigger when it takes the device (`VirtioDevice.connect`).
/// A request is run on the device's own thread exactly like a guest notification,
/// so `process(queue:)` stays the one entry point for queue work; while the machine holds
/// external requests back (paused, snapshotting) requests are dropped, and the machine looks
/// at every queue once when it resumes.
///
/// A device whose requests finish later, off its worker (a block device's asynchronous I/O),
/// hands each batch of finished requests back through `completeRequests`: the batch reaches
/// the used ring at once, on the calling thread under the queues' lock, whatever order the
/// requests were made available in.
public struct VirtioQueueTrigger: Sendable {
    public typealias Completion = @Sendable (Virtqueue) throws -> Void
    private let request: @Sendable (Int) -> Bool
    private let completion: @Sendable (Int, @escaping Completion) -> Void
    private let loop: DeviceEventLoop?

    /// `request` receives the queue index and `completion` the queue index and the work; the
    /// core passes closures that hold it weakly, and its thread's `loop`.
    init(_ request: @escaping @Sendable (Int) -> Bool, completion: @escaping @Sendable (Int, @escaping Completion) -> Void, loop: DeviceEventLoop) {
        self.request = request
        self.completion = completion
        self.loop = loop
    }

    /// For a device driven without a core (a fuzzer): every request is taken, and no host
    /// descriptor can be watched (`watch` returns nil).
    public init(_ request: @escaping @Sendable (Int) -> Void, completion: @escaping @Sendable (Int, @escaping Completion) -> Void = { _, _ in }) {
        self.request = { index in
            request(index)
            return true
        }
        self.completion = completion
        loop = nil
    }

    /// Watches a host descriptor of the device from the device's own thread: `onReady` runs
    /// there once per armed period, or with `oneShot: false` on every event until disarmed
    /// (see `ReadinessWatch`).
    public func watch(
        _ descriptor: Int32, direction: ReadinessWatch.Direction = .readable, oneShot: Bool = true, onReady: @escaping @Sendable () -> Void
    ) -> ReadinessWatch? {
        loop.map { ReadinessWatch(descriptor: descriptor, loop: $0, direction: direction, oneShot: oneShot, onReadable: onReady) }
    }

    /// Runs `body` with queue `index` on this thread, under the lock the worker's passes hold,
    /// if that queue is still live and working, then interrupts the driver if the used ring asks
    /// for it. Throwing from `body` marks the queue broken, as from `process(queue:)`.
    public func completeRequests(queue index: Int, _ body: @escaping Completion) {
        completion(index, body)
    }

    /// Asks for `process(queue:)` on queue `index` soon, on the device's thread. False when the
    /// machine holds host-side requests back (paused, snapshotting): a level-triggered source
    /// should then go quiet, since its queue is processed once more on the resume anyway.
    @discardableResult
    public func requestProcessing(queue index: Int) -> Bool {
        request(index)
    }
}
