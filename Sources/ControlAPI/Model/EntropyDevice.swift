import SwiftletCore

/// `PUT /entropy` and the "entropy" section of a config file: a virtio-rng device fed from
/// the host's getrandom. Its only field, a rate limiter, is not supported.
public struct EntropyDevice: Sendable, Equatable {
    public init() {}
}

extension EntropyDevice {
    init(json: JSONValue, context: String = "entropy") throws(APIFault) {
        var reader = try JSONObjectReader(json, context: context)
        try reader.requireUnsupported("rate_limiter", toBeOneOf: [], feature: "rate limiting")
        try reader.rejectUnknownFields()
        self.init()
    }

    var jsonValue: JSONValue { .object(["rate_limiter": .null]) }
}
