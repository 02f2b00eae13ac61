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

    public init(interfaceID: String, hostDeviceName: String, guestMAC: MACAddress? = nil) {
        self.interfaceID = interfaceID
        self.hostDeviceName = hostDeviceName
        self.guestMAC = guestMAC
    }
}

extension NetworkInterface {
    init(json: JSONValue, context: String) throws(APIFault) {
        var reader = try JSONObjectReader(json, context: context)
        let id = try reader.requiredNonEmptyString("iface_id")
        guard id.utf8.count <= Self.maxIDBytes, id.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == "-") }) else {
            throw APIFault("Invalid \(context): field 'iface_id' must be 1 to \(Self.maxIDBytes) letters, digits, '_' or '-'.")
        }
        let tap = try reader.requiredNonEmptyString("host_dev_name")
        var mac: MACAddress?
        if let text = try reader.optional("guest_mac", .string) {
            guard let parsed = MACAddress(text) else {
                throw APIFault("Invalid \(context): field 'guest_mac' must look like 02:00:00:00:00:01, got '\(text)'.")
            }
            mac = parsed
        }
        try reader.requireUnsupported("rx_rate_limiter", toBeOneOf: [], feature: "rate limiting")
        try reader.requireUnsupported("tx_rate_limiter", toBeOneOf: [], feature: "rate limiting")
        try reader.rejectUnknownFields()
        self.init(interfaceID: id, hostDeviceName: tap, guestMAC: mac)
    }

    var jsonValue: JSONValue {
        var members: [String: JSONValue] = [
            "iface_id": .string(interfaceID),
            "host_dev_name": .string(hostDeviceName),
            "rx_rate_limiter": .null,
            "tx_rate_limiter": .null,
        ]
        if let guestMAC { members["guest_mac"] = .string(guestMAC.description) }
        return .object(members)
    }
}
