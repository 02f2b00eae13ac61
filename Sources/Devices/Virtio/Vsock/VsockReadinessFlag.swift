import Synchronization

/// Set by a `ReadinessWatch` on its Dispatch worker, read and cleared by the device on its
/// I/O queue: "this host socket may have something for us (or room) now".
final class VsockReadinessFlag: Sendable {
    private let value: Atomic<Bool>

    init(_ initial: Bool) { value = Atomic(initial) }

    var isSet: Bool { value.load(ordering: .acquiring) }
    func set() { value.store(true, ordering: .releasing) }
    /// Call before re-arming the watch, so an event that arrives after the re-arm sets it again.
    func clear() { value.store(false, ordering: .releasing) }
}
