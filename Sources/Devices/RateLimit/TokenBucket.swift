import SwiftletCore

/// One of Firecracker's token buckets: `size` tokens (bytes or operations) that refill
/// completely every `refillTimeMilliseconds`, plus a `oneTimeBurst` of extra tokens spent
/// first and never refilled.
///
/// A request needs its tokens in the bucket; one larger than the whole bucket needs a full
/// bucket, goes through, and leaves the bucket in debt that the requests after it wait out.
/// So a request bigger than the bucket is served rather than stuck forever, and the average
/// rate still holds.
public struct TokenBucket: Sendable, Equatable {
    public let configuration: RateLimitConfiguration.Bucket
    /// Tokens left; negative while a large request's debt is being paid back.
    private var budget: Double
    private var burstLeft: UInt64
    /// Monotonic time of the last refill, in nanoseconds.
    private var lastRefill: UInt64

    /// Full at `now` (the bucket starts full, as Firecracker's does). Nil for a bucket that
    /// limits nothing.
    public init?(_ configuration: RateLimitConfiguration.Bucket, now: UInt64) {
        guard configuration.limitsAnything else { return nil }
        self.configuration = configuration
        budget = Double(configuration.size)
        burstLeft = configuration.oneTimeBurst
        lastRefill = now
    }

    /// Tokens per nanosecond.
    private var rate: Double { Double(configuration.size) / (Double(configuration.refillTimeMilliseconds) * 1_000_000) }

    /// The budget at `now`: what was left plus the refill since, never more than the size.
    private func budget(at now: UInt64) -> Double {
        guard now > lastRefill else { return budget }
        return min(Double(configuration.size), budget + Double(now - lastRefill) * rate)
    }

    /// What a request of `tokens` needs in the bucket (burst included) before it may go.
    private func needed(_ tokens: UInt64) -> Double {
        Double(min(tokens, configuration.size + burstLeft))
    }

    /// Whether `tokens` may be taken at `now`.
    public func canTake(_ tokens: UInt64, now: UInt64) -> Bool {
        budget(at: now) + Double(burstLeft) >= needed(tokens)
    }

    /// Takes `tokens`, from the one-time burst first; call after `canTake` said yes.
    public mutating func take(_ tokens: UInt64, now: UInt64) {
        budget = budget(at: now)
        lastRefill = max(lastRefill, now)
        let fromBurst = min(burstLeft, tokens)
        burstLeft -= fromBurst
        budget -= Double(tokens - fromBurst)
    }

    /// Nanoseconds from `now` until `canTake(tokens)` can say yes (0 if it already can).
    public func waitTime(for tokens: UInt64, now: UInt64) -> UInt64 {
        let missing = needed(tokens) - (budget(at: now) + Double(burstLeft))
        guard missing > 0 else { return 0 }
        // One nanosecond more so that rounding cannot leave the refill just short.
        return UInt64((missing / rate).rounded(.up)) + 1
    }
}
