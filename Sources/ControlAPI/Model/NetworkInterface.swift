import SwiftletCore

/// `PUT /network-interfaces/{iface_id}` and each entry of a config file's
/// "network-interfaces" list: a virtio-net interface backed by an existing host tap.
public struct NetworkInterface: Sendable, Equatable {
    /// Firecracker's limit on interface ids, which are also snapshot state keys.
    public static let maxIDBytes = 64

    public var interfaceID: String
    public var hostDeviceName: String
    /// Nil lets the VMM pick a locally administered address.
    public var guestMAC: MACAddress?
    public var receiveRateLimiter: RateLimitConfiguration?
    public var transmitRateLimiter: RateLimitConfiguration?

    public init(
        interfaceID: String, hostDeviceName: String, guestMAC: MACAddress? = nil, receiveRateLimiter: RateLimitConfiguration? = nil,
        transmitRateLimiter: RateLimitConfiguration? = nil
    ) {
        self.interfaceID = interfaceID
        self.hostDeviceName = hostDeviceName
        self.guestMAC = guestMAC
        self.receiveRateLimiter = receiveRateLimiter
        self.transmitRateLimiter = transmitRateLimiter
    }
}

extension NetworkInterface {
    init(json: JSONValue, context: String) throws(APIFault) {
        var reader = try JSONObjectReader(json, context: context)
        let id = try Self.interfaceID(&reader)
        let tap = try reader.requiredNonEmptyString("host_dev_name")
        var mac: MACAddress?
        if let text = try reader.optional("guest_mac", .string) {
            guard let parsed = MACAddress(text) else {
                throw APIFault("Invalid \(context): field 'guest_mac' must look like 02:00:00:00:00:01, got '\(text)'.")
            }
            mac = parsed
        }
        let (receive, transmit) = try Self.rateLimiters(&reader)
        try reader.rejectUnknownFields()
        self.init(interfaceID: id, hostDeviceName: tap, guestMAC: mac, receiveRateLimiter: receive, transmitRateLimiter: transmit)
    }

    static func interfaceID(_ reader: inout JSONObjectReader) throws(APIFault) -> String {
        let id = try reader.requiredNonEmptyString("iface_id")
        guard id.utf8.count <= Self.maxIDBytes, id.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == "-") }) else {
            throw APIFault("Invalid \(reader.context): field 'iface_id' must be 1 to \(Self.maxIDBytes) letters, digits, '_' or '-'.")
        }
        return id
    }

    static func rateLimiters(_ reader: inout JSONObjectReader) throws(APIFault) -> (RateLimitConfiguration?, RateLimitConfiguration?) {
        let context = reader.context
        let receive = try reader.value("rx_rate_limiter").map { json throws(APIFault) in
            try RateLimitConfiguration(json: json, context: "\(context).rx_rate_limiter")
        }
        let transmit = try reader.value("tx_rate_limiter").map { json throws(APIFault) in
            try RateLimitConfiguration(json: json, context: "\(context).tx_rate_limiter")
        }
        return (receive, transmit)
    }

    var jsonValue: JSONValue {
        var members: [String: JSONValue] = [
            "iface_id": .string(interfaceID),
            "host_dev_name": .string(hostDeviceName),
            "rx_rate_limiter": receiveRateLimiter?.jsonValue ?? .null,
            "tx_rate_limiter": transmitRateLimiter?.jsonValue ?? .null,
        ]
        if let guestMAC { members["guest_mac"] = .string(guestMAC.description) }
        return .object(members)
    }
}

/// `PATCH /network-interfaces/{iface_id}` after boot: new rate limiters for an interface the VM
/// has (Firecracker lets a PATCH change nothing else).
public struct NetworkInterfaceUpdate: Sendable, Equatable {
    public var interfaceID: String
    public var receiveRateLimiter: RateLimitConfiguration?
    public var transmitRateLimiter: RateLimitConfiguration?

    public init(interfaceID: String, receiveRateLimiter: RateLimitConfiguration? = nil, transmitRateLimiter: RateLimitConfiguration? = nil) {
        self.interfaceID = interfaceID
        self.receiveRateLimiter = receiveRateLimiter
        self.transmitRateLimiter = transmitRateLimiter
    }
}

extension NetworkInterfaceUpdate {
    init(json: JSONValue, context: String = "network-interfaces") throws(APIFault) {
        var reader = try JSONObjectReader(json, context: context)
        let id = try NetworkInterface.interfaceID(&reader)
        let (receive, transmit) = try NetworkInterface.rateLimiters(&reader)
        try reader.rejectUnknownFields()
        guard receive != nil || transmit != nil else {
            throw APIFault("Invalid \(context): a PATCH must give 'rx_rate_limiter', 'tx_rate_limiter' or both.")
        }
        self.init(interfaceID: id, receiveRateLimiter: receive, transmitRateLimiter: transmit)
    }
}
