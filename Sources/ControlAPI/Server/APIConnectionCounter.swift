import Synchronization

/// The number of open API connections, checked against the cap when one is accepted.
final class APIConnectionCounter: Sendable {
    private let open = Mutex(0)
    let limit: Int

    init(limit: Int) {
        self.limit = limit
    }

    /// Counts a new connection if there is room; false when the cap is reached.
    func admit() -> Bool {
        open.withLock { open in
            guard open < limit else { return false }
            open += 1
            return true
        }
    }

    /// Frees the slot of a connection `admit` counted, once it has closed.
    func release() {
        open.withLock { $0 -= 1 }
    }

    var openConnections: Int { open.withLock { $0 } }
}
