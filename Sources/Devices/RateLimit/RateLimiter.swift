#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import SwiftletCore

/// Firecracker's `rate_limiter` object: a bandwidth bucket (bytes) and an operations bucket
/// (requests), either optional. A request goes through only when both buckets allow it, and
/// then takes from both.
public struct RateLimiter: Sendable, Equatable {
    public let configuration: RateLimitConfiguration
    private var bandwidth: TokenBucket?
    private var operations: TokenBucket?

    /// Nil when neither bucket limits anything.
    public init?(_ configuration: RateLimitConfiguration, now: UInt64 = RateLimiter.now()) {
        self.configuration = configuration
        bandwidth = configuration.bandwidth.flatMap { TokenBucket($0, now: now) }
        operations = configuration.operations.flatMap { TokenBucket($0, now: now) }
        guard bandwidth != nil || operations != nil else { return nil }
    }

    /// Takes one operation and `bytes` if both buckets allow; otherwise takes nothing and
    /// returns how many nanoseconds to wait before asking again.
    public mutating func admit(bytes: UInt64, now: UInt64 = RateLimiter.now()) -> UInt64? {
        let bytesOK = bandwidth?.canTake(bytes, now: now) ?? true
        let operationOK = operations?.canTake(1, now: now) ?? true
        guard bytesOK && operationOK else {
            return max(bandwidth?.waitTime(for: bytes, now: now) ?? 0, operations?.waitTime(for: 1, now: now) ?? 0)
        }
        bandwidth?.take(bytes, now: now)
        operations?.take(1, now: now)
        return nil
    }

    /// The monotonic clock in nanoseconds.
    public static func now() -> UInt64 {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
    }
}
