import CEvents

#if canImport(Glibc)
import Glibc
#endif

/// A queue's ioeventfd, served on its device's own thread: KVM counts the driver's kicks in the
/// eventfd, and the thread reads the count back and runs a pass over the queue, with no other
/// thread woken on the way.
///
/// The watch owns the eventfd from then on: `cancelAndClose` closes it on the device's thread,
/// after a handler that may be reading it has returned.
public final class NotificationWatch: Sendable {
    private let loop: DeviceEventLoop
    private let descriptor: Int32
    private let token: UInt64

    init?(eventFD: Int32, loop: DeviceEventLoop, onKick: @escaping @Sendable () -> Void) {
        let token = loop.addInterest(descriptor: eventFD, events: CEVENTS_IN, oneShot: false) {
            var count: UInt64 = 0
            // Several kicks may have added up to one count; one pass serves them all.
            _ = read(eventFD, &count, MemoryLayout<UInt64>.size)
            onKick()
        }
        guard let token else { return nil }
        self.loop = loop
        self.descriptor = eventFD
        self.token = token
    }

    /// Holds kicks back (they add up in the eventfd) while the VM is paused, or lets them through.
    public func setDelivering(_ delivering: Bool) {
        loop.setArmed(delivering, token: token, descriptor: descriptor)
    }

    /// Stops serving the queue and closes the eventfd. A pass the last kick already started may
    /// still run; the eventfd is closed after its handler has returned.
    public func cancelAndClose() {
        loop.removeInterest(token: token, descriptor: descriptor)
        loop.closeAfterCurrentWork(descriptor)
    }
}
