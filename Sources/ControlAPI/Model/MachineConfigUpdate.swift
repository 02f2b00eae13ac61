import SwiftletCore

/// `PATCH /machine-config`: the fields to change, each optional; the others keep their value.
public struct MachineConfigUpdate: Sendable, Equatable {
    public var vcpuCount: Int?
    public var memSizeMiB: Int?
    public var trackDirtyPages: Bool?

    public init(vcpuCount: Int? = nil, memSizeMiB: Int? = nil, trackDirtyPages: Bool? = nil) {
        self.vcpuCount = vcpuCount
        self.memSizeMiB = memSizeMiB
        self.trackDirtyPages = trackDirtyPages
    }

    /// `current` with the given fields replaced.
    public func applied(to current: MachineConfig) -> MachineConfig {
        MachineConfig(
            vcpuCount: vcpuCount ?? current.vcpuCount, memSizeMiB: memSizeMiB ?? current.memSizeMiB,
            trackDirtyPages: trackDirtyPages ?? current.trackDirtyPages)
    }
}

extension MachineConfigUpdate {
    /// The same checks as `PUT /machine-config`, on the fields that are present.
    init(json: JSONValue, context: String = "machine-config") throws(APIFault) {
        var reader = try JSONObjectReader(json, context: context)
        let vcpus = try reader.optional("vcpu_count", .integer, limit: MachineLimits.checkVCPUCount)
        let memory = try reader.optional("mem_size_mib", .integer, limit: MachineLimits.checkMemory)
        let track = try reader.optional("track_dirty_pages", .bool)
        try MachineConfig.rejectUnsupportedSwitches(&reader)
        try reader.rejectUnknownFields()
        // Firecracker's words for a PATCH that names nothing.
        guard json != .object([:]) else { throw APIFault("Empty PATCH request.") }
        self.init(vcpuCount: vcpus, memSizeMiB: memory, trackDirtyPages: track)
    }
}
