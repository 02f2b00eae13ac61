import SwiftletCore

/// The two files of a snapshot, with Firecracker's names: the body of
/// `PUT /snapshot/create`, and what `PUT /snapshot/load` reads back.
public struct SnapshotFiles: Sendable, Equatable {
    /// Firecracker's `snapshot_type`.
    public enum Kind: String, Sendable, Equatable {
        /// All of guest RAM.
        case full = "Full"
        /// Only the pages written since the last snapshot (needs `track_dirty_pages`).
        case diff = "Diff"
    }

    /// The vCPU and device state file.
    public var snapshotPath: String
    /// The guest memory file.
    public var memFilePath: String
    /// What `PUT /snapshot/create` writes; a load takes either kind (a diff once rebased).
    public var snapshotType: Kind

    public init(snapshotPath: String, memFilePath: String, snapshotType: Kind = .full) {
        self.snapshotPath = snapshotPath
        self.memFilePath = memFilePath
        self.snapshotType = snapshotType
    }
}

extension SnapshotFiles {
    /// The body of `PUT /snapshot/create`. `"snapshot_type"` defaults to `"Full"`; whether a
    /// `"Diff"` is possible (dirty page tracking on) is the backend's to say.
    init(createRequest json: JSONValue) throws(APIFault) {
        var reader = try JSONObjectReader(json, context: "snapshot/create")
        let snapshot = try reader.requiredNonEmptyString("snapshot_path")
        let memory = try reader.requiredNonEmptyString("mem_file_path")
        var kind = Kind.full
        if let type = try reader.optional("snapshot_type", .string) {
            guard let given = Kind(rawValue: type) else {
                throw APIFault("Invalid snapshot/create: unknown snapshot_type '\(type)'; expected \"Full\" or \"Diff\".")
            }
            kind = given
        }
        try reader.rejectUnknownFields()
        self.init(snapshotPath: snapshot, memFilePath: memory, snapshotType: kind)
    }
}
