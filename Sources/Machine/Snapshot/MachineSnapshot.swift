import FoundationEssentials

/// The state file's payload: the VM's shape, KVM's VM-wide and per-vCPU state, and every
/// device's registers. Guest RAM lives in the separate memory file, region by region in the
/// order of `memoryRegions`.
struct MachineSnapshot: Codable {
    struct Region: Codable, Equatable {
        var base: UInt64
        var size: UInt64
    }

    struct VMState: Codable {
        var picMaster: Data
        var picSlave: Data
        var ioapic: Data
        var pit: Data
        var clock: Data
    }

    var swiftletVersion: String
    var memoryMiB: Int
    var memoryRegions: [Region]
    var vcpus: [VCPUSnapshot]
    var vm: VMState
    /// Every device's state under its key (`DeviceStateKey`, `VirtioDeviceKind`).
    var devices: [DeviceStateRecord]
    /// Which memory file goes with this state: a full one, or a diff that must be rebased onto
    /// its base before a restore. Absent in files written before diff snapshots (full).
    var snapshotType: SnapshotType?

    var memoryBytes: UInt64 { memoryRegions.reduce(0) { $0 + $1.size } }
}
