import SwiftletCore

/// The two files of a full snapshot, with Firecracker's names: the body of
/// `PUT /snapshot/create`, and what `PUT /snapshot/load` reads back.
public struct SnapshotFiles: Sendable, Equatable {
    /// The vCPU and device state file.
    public var snapshotPath: String
    /// The guest memory file.
    public var memFilePath: String

    public init(snapshotPath: String, memFilePath: String) {
        self.snapshotPath = snapshotPath
        self.memFilePath = memFilePath
    }
}

extension SnapshotFiles {
    /// The body of `PUT /snapshot/create`. Only full snapshots exist in Swiftlet, so
    /// `"snapshot_type": "Diff"` is refused.
    init(createRequest json: JSONValue) throws(APIFault) {
        var reader = try JSONObjectReader(json, context: "snapshot/create")
        let snapshot = try reader.requiredNonEmptyString("snapshot_path")
        let memory = try reader.requiredNonEmptyString("mem_file_path")
        if let type = try reader.optional("snapshot_type", .string) {
            switch type {
            case "Full": break
            case "Diff": throw APIFault("Diff snapshots are not supported by Swiftlet; use \"snapshot_type\": \"Full\".")
            default: throw APIFault("Invalid snapshot/create: unknown snapshot_type '\(type)'; expected \"Full\".")
            }
        }
        try reader.rejectUnknownFields()
        self.init(snapshotPath: snapshot, memFilePath: memory)
    }
}
