import Synchronization

/// Set by a `ReadinessWatch`, read and cleared by the device's passes (both on the device's
/// thread, though the flag does not rely on it): "this host socket may have something for us
/// (or room) now".
final class VsockReadinessFlag: Sendable {
    private let value: Atomic<Bool>

    init(_ initial: Bool) { value = Atomic(initial) }

    var isSet: Bool { value.load(ordering: .acquiring) }
    func set() { value.store(true, ordering: .releasing) }
    /// Call before re-arming the watch, so an event that arrives after the re-arm sets it again.
    func clear() { value.store(false, ordering: .releasing) }
}
