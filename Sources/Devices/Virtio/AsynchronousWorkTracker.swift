import Dispatch
import Synchronization

/// Counts a device's requests that host I/O is working on and whose completion has not yet
/// been handed back to the transport, so that draining the device (before a pause, a
/// snapshot, a reset) can wait for them.
final class AsynchronousWorkTracker: Sendable {
    private let outstanding = DispatchGroup()
    private let postedCount = Atomic<UInt64>(0)

    /// A request went to host I/O.
    func started() { outstanding.enter() }

    /// `count` requests' completions were handed back (or dropped, their queue gone).
    func posted(_ count: Int) {
        postedCount.add(UInt64(count), ordering: .sequentiallyConsistent)
        for _ in 0..<count { outstanding.leave() }
    }

    /// How many completions were handed back so far.
    var postedSoFar: UInt64 { postedCount.load(ordering: .sequentiallyConsistent) }

    /// Waits until every started request's completion was handed back; returns `postedSoFar`.
    func waitUntilAllPosted() -> UInt64 {
        outstanding.wait()
        return postedSoFar
    }
}
