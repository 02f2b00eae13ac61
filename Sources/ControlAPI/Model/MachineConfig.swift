import SwiftletCore

/// `PUT /machine-config` and the "machine-config" section of a config file: Firecracker's
/// name for the VM's size.
public struct MachineConfig: Sendable, Equatable {
    public var vcpuCount: Int
    public var memSizeMiB: Int
    /// `track_dirty_pages`: record the pages written, for diff snapshots.
    public var trackDirtyPages: Bool

    public init(vcpuCount: Int, memSizeMiB: Int, trackDirtyPages: Bool = false) {
        self.vcpuCount = vcpuCount
        self.memSizeMiB = memSizeMiB
        self.trackDirtyPages = trackDirtyPages
    }

    /// Firecracker's defaults before any `PUT /machine-config`.
    public static let firecrackerDefault = MachineConfig(vcpuCount: 1, memSizeMiB: 128)
}

extension MachineConfig {
    /// Checks both sizes against `MachineLimits` here, at the API's door, so a bad value is
    /// refused by the request that carries it and not later by InstanceStart.
    init(json: JSONValue, context: String = "machine-config") throws(APIFault) {
        var reader = try JSONObjectReader(json, context: context)
        let vcpus = try reader.required("vcpu_count", .integer, limit: MachineLimits.checkVCPUCount)
        let memory = try reader.required("mem_size_mib", .integer, limit: MachineLimits.checkMemory)
        let track = try reader.optional("track_dirty_pages", .bool) ?? false
        try Self.rejectUnsupportedSwitches(&reader)
        try reader.rejectUnknownFields()
        self.init(vcpuCount: vcpus, memSizeMiB: memory, trackDirtyPages: track)
    }

    /// Firecracker's optional switches Swiftlet lacks: accepted when they are off.
    /// (`track_dirty_pages` is read by the callers.)
    static func rejectUnsupportedSwitches(_ reader: inout JSONObjectReader) throws(APIFault) {
        try reader.requireUnsupported("smt", toBeOneOf: [.bool(false)], feature: "simultaneous multithreading")
        try reader.requireUnsupported("huge_pages", toBeOneOf: [.string("None")], feature: "huge pages")
        try reader.requireUnsupported("cpu_template", toBeOneOf: [.string("None")], feature: "CPU templates")
    }

    var jsonValue: JSONValue {
        .object([
            "vcpu_count": .integer(Int64(vcpuCount)),
            "mem_size_mib": .integer(Int64(memSizeMiB)),
            "smt": .bool(false),
            "track_dirty_pages": .bool(trackDirtyPages),
            "huge_pages": .string("None"),
        ])
    }
}
