import SwiftletCore

/// Firecracker's `rate_limiter` object: `{"bandwidth": BUCKET, "ops": BUCKET}`, each bucket
/// `{"size": N, "one_time_burst": N, "refill_time": MILLISECONDS}`.
extension RateLimitConfiguration {
    init(json: JSONValue, context: String) throws(APIFault) {
        var reader = try JSONObjectReader(json, context: context)
        let bandwidth = try reader.optionalObject("bandwidth").map { bucket throws(APIFault) in try Bucket(reader: bucket) }
        let operations = try reader.optionalObject("ops").map { bucket throws(APIFault) in try Bucket(reader: bucket) }
        try reader.rejectUnknownFields()
        self.init(bandwidth: bandwidth, operations: operations)
    }

    var jsonValue: JSONValue {
        .object(["bandwidth": bandwidth?.jsonValue ?? .null, "ops": operations?.jsonValue ?? .null])
    }
}

extension RateLimitConfiguration.Bucket {
    init(reader: JSONObjectReader) throws(APIFault) {
        var reader = reader
        let size = try Self.count("size", required: true, &reader)
        let burst = try Self.count("one_time_burst", required: false, &reader)
        let refill = try Self.count("refill_time", required: true, &reader)
        try reader.rejectUnknownFields()
        self.init(size: size, oneTimeBurst: burst, refillTimeMilliseconds: refill)
    }

    private static func count(_ key: String, required: Bool, _ reader: inout JSONObjectReader) throws(APIFault) -> UInt64 {
        guard let value = required ? try reader.required(key, .integer) : try reader.optional(key, .integer) else { return 0 }
        guard value >= 0 else { throw APIFault("Invalid \(reader.context): field '\(key)' must not be negative, got \(value).") }
        return UInt64(value)
    }

    var jsonValue: JSONValue {
        .object([
            "size": .integer(Int64(clamping: size)), "one_time_burst": .integer(Int64(clamping: oneTimeBurst)),
            "refill_time": .integer(Int64(clamping: refillTimeMilliseconds)),
        ])
    }
}
