import Synchronization

/// Passes at most `perSecond` error reports a second to `handler`, then one line saying how
/// many were dropped. A guest that loops reset → bad queue → DRIVER_OK must not flood the
/// VMM's log.
final class ErrorReportLimiter: Sendable {
    static let perSecond = 10

    private struct Window {
        var start = ContinuousClock.now
        var reported = 0
        var suppressed = 0
    }

    private let prefix: String
    private let handler: @Sendable (String) -> Void
    private let window = Mutex(Window())

    init(prefix: String, handler: @escaping @Sendable (String) -> Void) {
        self.prefix = prefix
        self.handler = handler
    }

    func report(_ message: String) {
        let (emit, suppressedBefore) = window.withLock { window -> (Bool, Int) in
            var note = 0
            let now = ContinuousClock.now
            if now - window.start >= .seconds(1) {
                note = window.suppressed
                window = Window(start: now)
            }
            guard window.reported < Self.perSecond else {
                window.suppressed += 1
                return (false, note)
            }
            window.reported += 1
            return (true, note)
        }
        if suppressedBefore > 0 { handler("\(prefix): \(suppressedBefore) more errors were not reported") }
        if emit { handler("\(prefix): \(message)") }
    }
}
