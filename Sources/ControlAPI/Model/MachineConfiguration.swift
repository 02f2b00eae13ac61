/// `PUT /machine-config` and the "machine-config" section of a config file.
public struct MachineConfiguration: Sendable, Equatable {
    /// Firecracker's limit; the backend may impose a lower one.
    public static let vcpuCountRange: ClosedRange<Int> = 1...32
    /// Upper bound keeps `memSizeMiB << 20` far from overflowing on any code path.
    public static let memSizeMiBRange: ClosedRange<Int> = 1...(1 << 24)

    public var vcpuCount: Int
    public var memSizeMiB: Int

    public init(vcpuCount: Int, memSizeMiB: Int) {
        self.vcpuCount = vcpuCount
        self.memSizeMiB = memSizeMiB
    }

    /// Firecracker's defaults before any `PUT /machine-config`.
    public static let firecrackerDefault = MachineConfiguration(vcpuCount: 1, memSizeMiB: 128)
}

extension MachineConfiguration {
    init(json: JSONValue, context: String = "machine-config") throws(APIFault) {
        var reader = try JSONObjectReader(json, context: context)
        let vcpus = try reader.requiredInteger(
            "vcpu_count", in: Int64(Self.vcpuCountRange.lowerBound)...Int64(Self.vcpuCountRange.upperBound))
        let memory = try reader.requiredInteger(
            "mem_size_mib", in: Int64(Self.memSizeMiBRange.lowerBound)...Int64(Self.memSizeMiBRange.upperBound))
        try reader.requireUnsupported("smt", toBeOneOf: [.bool(false)], feature: "simultaneous multithreading")
        try reader.requireUnsupported("track_dirty_pages", toBeOneOf: [.bool(false)], feature: "dirty page tracking")
        try reader.requireUnsupported("huge_pages", toBeOneOf: [.string("None")], feature: "huge pages")
        try reader.requireUnsupported("cpu_template", toBeOneOf: [.string("None")], feature: "CPU templates")
        try reader.rejectUnknownFields()
        // The ranges above were checked, so the conversions cannot trap.
        self.init(vcpuCount: Int(vcpus), memSizeMiB: Int(memory))
    }

    var jsonValue: JSONValue {
        .object([
            "vcpu_count": .integer(Int64(vcpuCount)),
            "mem_size_mib": .integer(Int64(memSizeMiB)),
            "smt": .bool(false),
            "track_dirty_pages": .bool(false),
            "huge_pages": .string("None"),
        ])
    }
}
