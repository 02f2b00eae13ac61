import SwiftletCore

/// One entry of `network_overrides` in `PUT /snapshot/load`: restore interface `iface_id`
/// on the tap `host_dev_name`, so a clone does not reuse its original's tap.
public struct NetworkOverrideRequest: Sendable, Equatable {
    public var interfaceID: String
    public var hostDeviceName: String

    public init(interfaceID: String, hostDeviceName: String) {
        self.interfaceID = interfaceID
        self.hostDeviceName = hostDeviceName
    }
}

extension NetworkOverrideRequest {
    /// The list (absent or null means none); an interface named twice is refused.
    static func list(_ json: JSONValue?) throws(APIFault) -> [NetworkOverrideRequest] {
        guard let json else { return [] }
        guard case .array(let entries) = json else {
            throw APIFault("Invalid snapshot/load: field 'network_overrides' must be a list, got \(json.typeName).")
        }
        var overrides: [NetworkOverrideRequest] = []
        for (index, entry) in entries.enumerated() {
            var reader = try JSONObjectReader(entry, context: "snapshot/load.network_overrides[\(index)]")
            let id = try reader.requiredNonEmptyString("iface_id")
            let tap = try reader.requiredNonEmptyString("host_dev_name")
            try reader.rejectUnknownFields()
            guard !overrides.contains(where: { $0.interfaceID == id }) else {
                throw APIFault("Invalid snapshot/load: iface_id '\(id)' appears more than once in 'network_overrides'.")
            }
            overrides.append(NetworkOverrideRequest(interfaceID: id, hostDeviceName: tap))
        }
        return overrides
    }
}
