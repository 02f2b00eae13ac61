/// `PUT /snapshot/create`. Only full snapshots exist in Swiftlet; `"snapshot_type": "Diff"`
/// is refused by the router.
public struct SnapshotCreateRequest: Sendable, Equatable {
    /// Where the vCPU/device state file goes.
    public var snapshotPath: String
    /// Where guest memory goes.
    public var memFilePath: String

    public init(snapshotPath: String, memFilePath: String) {
        self.snapshotPath = snapshotPath
        self.memFilePath = memFilePath
    }
}

extension SnapshotCreateRequest {
    init(json: JSONValue) throws(APIFault) {
        var reader = try JSONObjectReader(json, context: "snapshot/create")
        let snapshot = try reader.requiredNonEmptyString("snapshot_path")
        let memory = try reader.requiredNonEmptyString("mem_file_path")
        if let type = try reader.optionalString("snapshot_type") {
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

/// `PUT /snapshot/load`.
public struct SnapshotLoadRequest: Sendable, Equatable {
    public var snapshotPath: String
    /// The guest memory file, from `mem_backend.backend_path` (backend_type "File") or the
    /// deprecated `mem_file_path`; the router guarantees exactly one was given.
    public var memFilePath: String
    /// Resume the vCPUs once loaded; otherwise the VM stays "Paused".
    public var resumeVM: Bool

    public init(snapshotPath: String, memFilePath: String, resumeVM: Bool = false) {
        self.snapshotPath = snapshotPath
        self.memFilePath = memFilePath
        self.resumeVM = resumeVM
    }
}

extension SnapshotLoadRequest {
    init(json: JSONValue) throws(APIFault) {
        var reader = try JSONObjectReader(json, context: "snapshot/load")
        let snapshot = try reader.requiredNonEmptyString("snapshot_path")
        let legacyMemoryPath = try reader.optionalString("mem_file_path")
        var backendPath: String?
        if var backend = try reader.optionalObject("mem_backend") {
            let type = try backend.requiredString("backend_type")
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
        let resume = try reader.optionalBool("resume_vm") ?? false
        try reader.requireUnsupported("enable_diff_snapshots", toBeOneOf: [.bool(false)], feature: "diff snapshots")
        try reader.requireUnsupported("track_dirty_pages", toBeOneOf: [.bool(false)], feature: "dirty page tracking")
        try reader.requireUnsupported("network_overrides", toBeOneOf: [.array([])], feature: "network overrides")
        try reader.requireUnsupported("clock_realtime", toBeOneOf: [.bool(false)], feature: "realtime clock restore")
        try reader.rejectUnknownFields()
        self.init(snapshotPath: snapshot, memFilePath: memory, resumeVM: resume)
    }
}
