import SwiftletCore

/// `PUT /snapshot/load`.
public struct SnapshotLoadRequest: Sendable, Equatable {
    /// The memory file comes from `mem_backend.backend_path` (backend_type "File") or the
    /// deprecated `mem_file_path`; parsing guarantees exactly one was given.
    public var files: SnapshotFiles
    /// Resume the vCPUs once loaded; otherwise the VM stays "Paused".
    public var resumeVM: Bool
    /// `network_overrides`: interface id → the host tap to reopen it on instead.
    public var networkOverrides: [NetworkOverrideRequest]
    /// `track_dirty_pages` (or the deprecated `enable_diff_snapshots`): the restored VM logs
    /// dirty pages, so its next Diff holds what changed since the load.
    public var trackDirtyPages: Bool

    public init(files: SnapshotFiles, resumeVM: Bool = false, networkOverrides: [NetworkOverrideRequest] = [], trackDirtyPages: Bool = false) {
        self.files = files
        self.resumeVM = resumeVM
        self.networkOverrides = networkOverrides
        self.trackDirtyPages = trackDirtyPages
    }
}

extension SnapshotLoadRequest {
    init(json: JSONValue) throws(APIFault) {
        var reader = try JSONObjectReader(json, context: "snapshot/load")
        let snapshot = try reader.requiredNonEmptyString("snapshot_path")
        let memory = try Self.memoryFilePath(&reader)
        let resume = try reader.optional("resume_vm", .bool) ?? false
        // Firecracker reads either; one that is true turns tracking on.
        let legacyTracking = try reader.optional("enable_diff_snapshots", .bool) ?? false
        let tracking = try reader.optional("track_dirty_pages", .bool) ?? false
        let overrides = try NetworkOverrideRequest.list(reader.value("network_overrides"))
        try reader.requireUnsupported("clock_realtime", toBeOneOf: [.bool(false)], feature: "realtime clock restore")
        try reader.rejectUnknownFields()
        self.init(
            files: SnapshotFiles(snapshotPath: snapshot, memFilePath: memory), resumeVM: resume, networkOverrides: overrides,
            trackDirtyPages: tracking || legacyTracking)
    }

    /// Exactly one of `mem_backend` (a "File" backend) and the older `mem_file_path`.
    private static func memoryFilePath(_ reader: inout JSONObjectReader) throws(APIFault) -> String {
        let legacyMemoryPath = try reader.optional("mem_file_path", .string)
        var backendPath: String?
        if var backend = try reader.optionalObject("mem_backend") {
            let type = try backend.required("backend_type", .string)
            let path = try backend.requiredNonEmptyString("backend_path")
            try backend.rejectUnknownFields()
            switch type {
            case "File": backendPath = path
            case "Uffd": throw APIFault("The Uffd memory backend is not supported by Swiftlet; use \"backend_type\": \"File\".")
            default: throw APIFault("Invalid snapshot/load.mem_backend: unknown backend_type '\(type)'; expected \"File\".")
            }
        }
        let memory: String
        switch (legacyMemoryPath, backendPath) {
        case (let path?, nil): memory = path
        case (nil, let path?): memory = path
        case (nil, nil):
            throw APIFault("Invalid snapshot/load: exactly one of 'mem_backend' and 'mem_file_path' is required; got neither.")
        case (.some, .some):
            throw APIFault("Invalid snapshot/load: exactly one of 'mem_backend' and 'mem_file_path' is allowed; got both.")
        }
        guard !memory.isEmpty else { throw APIFault("Invalid snapshot/load: field 'mem_file_path' must not be empty.") }
        return memory
    }
}
