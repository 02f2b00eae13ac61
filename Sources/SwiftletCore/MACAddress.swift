/// An Ethernet MAC address, written and encoded as "02:00:00:00:00:01".
public struct MACAddress: Sendable, Equatable, Hashable, Codable, CustomStringConvertible, LosslessStringConvertible {
    public let bytes: [UInt8]

    /// Nil unless `bytes` has exactly six entries.
    public init?(bytes: [UInt8]) {
        guard bytes.count == 6 else { return nil }
        self.bytes = bytes
    }

    /// Six colon-separated two-digit hex bytes; nil for anything else.
    public init?(_ text: String) {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 6 else { return nil }
        var bytes: [UInt8] = []
        for part in parts {
            guard part.count == 2, let byte = UInt8(part, radix: 16) else { return nil }
            bytes.append(byte)
        }
        self.bytes = bytes
    }

    /// A locally administered unicast address (02:xx:…) derived from `index`, for an
    /// interface the user gave no MAC.
    public static func locallyAdministered(index: UInt32) -> MACAddress {
        MACAddress(bytes: [0x02, 0x53, 0x57] + [UInt8].littleEndian(index).prefix(3).reversed())!
    }

    public var description: String {
        bytes.map { byte in
            let digits = String(byte, radix: 16)
            return byte < 0x10 ? "0" + digits : digits
        }.joined(separator: ":")
    }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let address = MACAddress(text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "invalid MAC address \"\(text)\""))
        }
        self = address
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}
