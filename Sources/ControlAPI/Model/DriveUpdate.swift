import SwiftletCore

/// `PATCH /drives/{drive_id}` after boot: a new backing file for a drive the VM has, a new
/// rate limiter, or both. Kata Containers boots with a placeholder drive and swaps in the
/// container's image this way.
public struct DriveUpdate: Sendable, Equatable {
    public var driveID: String
    public var pathOnHost: String?
    public var rateLimiter: RateLimitConfiguration?

    public init(driveID: String, pathOnHost: String? = nil, rateLimiter: RateLimitConfiguration? = nil) {
        self.driveID = driveID
        self.pathOnHost = pathOnHost
        self.rateLimiter = rateLimiter
    }
}

extension DriveUpdate {
    init(json: JSONValue, context: String = "drive") throws(APIFault) {
        var reader = try JSONObjectReader(json, context: context)
        let id = try reader.required("drive_id", .string, limit: MachineLimits.checkDriveID)
        let path = try reader.optional("path_on_host", .string)
        let rateLimiter = try reader.value("rate_limiter").map { json throws(APIFault) in
            try RateLimitConfiguration(json: json, context: "\(context).rate_limiter")
        }
        try reader.rejectUnknownFields()
        guard path != nil || rateLimiter != nil else {
            throw APIFault("Invalid \(context): a PATCH must give 'path_on_host', 'rate_limiter' or both.")
        }
        guard path != "" else { throw APIFault("Invalid \(context): field 'path_on_host' must not be empty.") }
        self.init(driveID: id, pathOnHost: path, rateLimiter: rateLimiter)
    }
}
