import SwiftletCore

/// `PATCH /drives/{drive_id}` after boot: a new backing file for a drive the VM has. Kata
/// Containers boots with a placeholder drive and swaps in the container's image this way.
public struct DriveUpdate: Sendable, Equatable {
    public var driveID: String
    public var pathOnHost: String

    public init(driveID: String, pathOnHost: String) {
        self.driveID = driveID
        self.pathOnHost = pathOnHost
    }
}

extension DriveUpdate {
    init(json: JSONValue, context: String = "drive") throws(APIFault) {
        var reader = try JSONObjectReader(json, context: context)
        let id = try reader.required("drive_id", .string, limit: MachineLimits.checkDriveID)
        let path = try reader.optional("path_on_host", .string)
        try reader.requireUnsupported("rate_limiter", toBeOneOf: [], feature: "rate limiting")
        try reader.rejectUnknownFields()
        // Rate limiters are the only other thing Firecracker lets a PATCH change.
        guard let path else { throw APIFault("Invalid \(context): a PATCH must give 'path_on_host', the only field Swiftlet can change.") }
        guard !path.isEmpty else { throw APIFault("Invalid \(context): field 'path_on_host' must not be empty.") }
        self.init(driveID: id, pathOnHost: path)
    }
}
