import Devices
import Foundation

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

    struct DeviceStates: Codable {
        var serial: Serial16550.State
        var i8042: I8042Controller.State
        var pciConfigIO: PCIConfigIO.State
        var pciRoot: PCIRoot.State
        var virtio: [VirtioPCIDevice.State]
        var blocks: [VirtioBlock.State]
    }

    var swiftletVersion: String
    var memoryMiB: Int
    var memoryRegions: [Region]
    var vcpus: [VCPUSnapshot]
    var vm: VMState
    var devices: DeviceStates

    var memoryBytes: UInt64 { memoryRegions.reduce(0) { $0 + $1.size } }
}
