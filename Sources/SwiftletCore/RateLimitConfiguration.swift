/// Firecracker's `rate_limiter` object, as the API, the config file and the devices all
/// understand it: an optional bandwidth bucket (bytes) and an optional operations bucket
/// (requests).
public struct RateLimitConfiguration: Codable, Sendable, Equatable {
    /// One token bucket: `size` tokens that refill completely every `refillTimeMilliseconds`,
    /// plus a `oneTimeBurst` of extra tokens that never refill. A zero size or refill time
    /// limits nothing.
    public struct Bucket: Codable, Sendable, Equatable {
        public var size: UInt64
        public var oneTimeBurst: UInt64
        public var refillTimeMilliseconds: UInt64

        public init(size: UInt64, oneTimeBurst: UInt64 = 0, refillTimeMilliseconds: UInt64) {
            self.size = size
            self.oneTimeBurst = oneTimeBurst
            self.refillTimeMilliseconds = refillTimeMilliseconds
        }

        public var limitsAnything: Bool { size > 0 && refillTimeMilliseconds > 0 }
    }

    public var bandwidth: Bucket?
    public var operations: Bucket?

    public init(bandwidth: Bucket? = nil, operations: Bucket? = nil) {
        self.bandwidth = bandwidth
        self.operations = operations
    }

    public var limitsAnything: Bool { bandwidth?.limitsAnything == true || operations?.limitsAnything == true }
}
