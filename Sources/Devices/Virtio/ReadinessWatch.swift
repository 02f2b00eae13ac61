import Dispatch
import Synchronization

/// Watches a non-blocking host descriptor for readability and tells a virtio device once per
/// armed period, so a device reads only when there is something to read and only as fast as
/// the guest posts buffers.
///
/// Each readiness event disarms the watch before calling `onReadable`; the device re-arms it
/// after it has read the descriptor dry (EAGAIN). A device that stops early because the guest
/// posted no buffers leaves it disarmed: data then waits in the host (in the kernel's socket
/// or tap queue, never in Swiftlet), and the guest's next notification resumes reading.
public final class ReadinessWatch: Sendable {
    /// What to wait for: data to read (a tap frame, socket bytes) or room to write (a host
    /// socket that refused bytes earlier).
    public enum Direction: Sendable {
        case readable
        case writable
    }

    private struct Watch {
        var armed = true
        var cancelled = false
    }

    /// libdispatch sources are thread-safe; only the suspend/resume bookkeeping, which must
    /// stay balanced, needs the lock.
    private nonisolated(unsafe) let source: any DispatchSourceProtocol
    private let watch = Mutex(Watch())

    /// Starts armed: `onReadable` runs (on a Dispatch worker) as soon as `descriptor` is
    /// readable (or, for `.writable`, writable).
    public init(descriptor: Int32, label: String, direction: Direction = .readable, onReadable: @escaping @Sendable () -> Void) {
        switch direction {
        case .readable: source = DispatchSource.makeReadSource(fileDescriptor: descriptor, queue: DispatchQueue(label: label))
        case .writable: source = DispatchSource.makeWriteSource(fileDescriptor: descriptor, queue: DispatchQueue(label: label))
        }
        source.setEventHandler { [weak self] in
            self?.disarm()
            onReadable()
        }
        source.activate()
    }

    deinit { cancel() }

    /// Lets the next readiness event through (no-op when already armed or cancelled).
    public func arm() {
        watch.withLock { watch in
            guard !watch.cancelled, !watch.armed else { return }
            watch.armed = true
            source.resume()
        }
    }

    /// Stops watching for good. The descriptor stays open: it belongs to the caller.
    public func cancel() {
        watch.withLock { watch in
            guard !watch.cancelled else { return }
            watch.cancelled = true
            source.cancel()
            // A suspended source must be resumed before it is released, cancelled or not.
            if !watch.armed { source.resume() }
        }
    }

    private func disarm() {
        watch.withLock { watch in
            guard !watch.cancelled, watch.armed else { return }
            watch.armed = false
            source.suspend()
        }
    }
}
