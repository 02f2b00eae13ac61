import SwiftletCore

/// `PUT /vsock` and a config file's "vsock" section: the VM's one virtio-vsock device,
/// with the guest's CID and the host Unix socket that stands for the host side.
public struct VsockDevice: Sendable, Equatable {
    /// Firecracker's optional (and deprecated) name for the device; kept for GET /vm/config.
    public var vsockID: String?
    public var guestCID: UInt64
    public var udsPath: String

    public init(vsockID: String? = nil, guestCID: UInt64, udsPath: String) {
        self.vsockID = vsockID
        self.guestCID = guestCID
        self.udsPath = udsPath
    }
}

extension VsockDevice {
    init(json: JSONValue, context: String) throws(APIFault) {
        var reader = try JSONObjectReader(json, context: context)
        let vsockID = try reader.optional("vsock_id", .string)
        let cid = try reader.required("guest_cid", .integer)
        guard cid >= 0 else { throw APIFault("Invalid \(context): field 'guest_cid' must not be negative (got \(cid)).") }
        do {
            try MachineLimits.checkVsockGuestCID(UInt64(cid), field: "guest_cid")
        } catch {
            throw APIFault("Invalid \(context): \(error).")
        }
        let udsPath = try reader.requiredNonEmptyString("uds_path")
        try reader.rejectUnknownFields()
        self.init(vsockID: vsockID, guestCID: UInt64(cid), udsPath: udsPath)
    }

    var jsonValue: JSONValue {
        var members: [String: JSONValue] = ["guest_cid": .integer(Int64(guestCID)), "uds_path": .string(udsPath)]
        if let vsockID { members["vsock_id"] = .string(vsockID) }
        return .object(members)
    }
}
