import Dispatch
import SwiftletCore
import Synchronization

/// A rate limit on one device queue (a disk's requests, a network interface's sent or received
/// frames): Firecracker's `rate_limiter` as configured, its buckets, and the timer that brings
/// the queue back once the tokens for a refused request are due.
public final class QueueRateLimit: Sendable {
    private let state: Mutex<(configuration: RateLimitConfiguration?, limiter: RateLimiter?)>
    /// One timer at a time: kicks that arrive while a request waits for tokens add none.
    private let retryScheduled = Atomic<Bool>(false)
    /// The longest a refused request waits before its queue is looked at again: a configuration
    /// with a vast refill time must not park a queue for longer than a user can tell from a hang.
    static let longestWaitNanoseconds: UInt64 = 60_000_000_000

    public init(_ configuration: RateLimitConfiguration?) {
        state = Mutex((configuration, configuration.flatMap { RateLimiter($0) }))
    }

    /// As configured (nil: none).
    public var configuration: RateLimitConfiguration? { state.withLock { $0.configuration } }

    /// New buckets, full, for `PATCH` requests; nil or a configuration that limits nothing lifts the limit.
    public func replace(with configuration: RateLimitConfiguration?) {
        state.withLock { $0 = (configuration, configuration.flatMap { RateLimiter($0) }) }
    }

    /// Takes one operation and `bytes` and returns true, or returns false and has `retry`
    /// called (on a global queue) once the tokens are due.
    public func admit(bytes: UInt64, otherwise retry: @escaping @Sendable () -> Void) -> Bool {
        guard let wait = state.withLock({ $0.limiter?.admit(bytes: bytes) }) else { return true }
        guard !retryScheduled.exchange(true, ordering: .acquiringAndReleasing) else { return false }
        let delay = DispatchTimeInterval.nanoseconds(Int(min(wait, Self.longestWaitNanoseconds)))
        DispatchQueue.global().asyncAfter(deadline: .now() + delay) { [weak self] in
            self?.retryScheduled.store(false, ordering: .releasing)
            retry()
        }
        return false
    }
}
