import CEvents
import Synchronization

/// Watches a non-blocking host descriptor for readability and tells a virtio device once per
/// armed period, so a device reads only when there is something to read and only as fast as
/// the guest posts buffers.
///
/// Each readiness event disarms the watch before calling `onReadable`; the device re-arms it
/// after it has read the descriptor dry (EAGAIN). A device that stops early because the guest
/// posted no buffers leaves it disarmed: data then waits in the host (in the kernel's socket
/// or tap queue, never in Swiftlet), and the guest's next notification resumes reading.
///
/// A watch made with `oneShot: false` stays armed until the device disarms it: for a device
/// that reads its descriptor dry in the pass each event starts, on the same thread, before the
/// thread waits again, that saves re-arming (two epoll_ctl calls) on every event. It must then
/// disarm whenever it stops reading early.
///
/// `onReadable` runs on the device's own thread (`DeviceEventLoop`), between its jobs.
public final class ReadinessWatch: Sendable {
    /// What to wait for: data to read (a tap frame, socket bytes) or room to write (a host
    /// socket that refused bytes earlier).
    public enum Direction: Sendable {
        case readable
        case writable
    }

    private let loop: DeviceEventLoop
    private let descriptor: Int32
    private let token: UInt64?
    private let onReadable: @Sendable () -> Void
    private let cancelled = Atomic<Bool>(false)

    /// Starts armed. A descriptor epoll refuses (closed, or not pollable) is reported as ready
    /// once, so the device tries it and meets the error itself.
    init(
        descriptor: Int32, loop: DeviceEventLoop, direction: Direction = .readable, oneShot: Bool = true,
        onReadable: @escaping @Sendable () -> Void
    ) {
        self.loop = loop
        self.descriptor = descriptor
        self.onReadable = onReadable
        let events = direction == .readable ? CEVENTS_IN : CEVENTS_OUT
        token = loop.addInterest(descriptor: descriptor, events: events, oneShot: oneShot, handler: onReadable)
        if token == nil { loop.post(onReadable) }
    }

    deinit { cancel() }

    /// Lets the next readiness event through (no-op when already armed or cancelled).
    public func arm() {
        guard !cancelled.load(ordering: .acquiring), let token else { return }
        if !loop.setArmed(true, token: token, descriptor: descriptor) { loop.post(onReadable) }
    }

    /// Holds readiness events back until the next `arm`.
    public func disarm() {
        guard !cancelled.load(ordering: .acquiring), let token else { return }
        loop.setArmed(false, token: token, descriptor: descriptor)
    }

    /// Stops watching for good. The descriptor stays open: it belongs to the caller, who may
    /// close it as soon as this returns.
    public func cancel() {
        guard !cancelled.exchange(true, ordering: .acquiringAndReleasing), let token else { return }
        loop.removeInterest(token: token, descriptor: descriptor)
    }
}
