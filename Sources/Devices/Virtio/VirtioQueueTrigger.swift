/// How a device asks for one of its queues to be processed when the work comes from outside
/// the guest: a frame waiting in a tap, bytes on a host socket.
///
/// The core hands each device one trigger when it takes the device (`VirtioDevice.connect`).
/// A request is run on the device's serial I/O queue exactly like a guest notification,
/// so `process(queue:)` stays the one entry point for queue work; while the machine holds
/// external requests back (paused, snapshotting) requests are dropped, and the machine looks
/// at every queue once when it resumes.
public struct VirtioQueueTrigger: Sendable {
    private let request: @Sendable (Int) -> Void

    /// `request` receives the queue index; the core passes a closure that holds it weakly.
    public init(_ request: @escaping @Sendable (Int) -> Void) {
        self.request = request
    }

    /// Asks for `process(queue:)` on queue `index` soon, on the device's I/O queue.
    public func requestProcessing(queue index: Int) {
        request(index)
    }
}
