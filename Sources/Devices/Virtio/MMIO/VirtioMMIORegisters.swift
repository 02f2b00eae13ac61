/// The virtio-mmio register block, version 2 (virtio 1.x §4.2.2): where each of the
/// transport-independent `VirtioRegisters` sits in the device's 4 KiB window.
///
/// Every register is 32 bits wide and only 32-bit accesses at its offset reach it; the
/// device-specific configuration space starts at `deviceConfiguration`.
public enum VirtioMMIORegisters {
    public static let magicValue: UInt64 = 0x000
    public static let version: UInt64 = 0x004
    public static let deviceID: UInt64 = 0x008
    public static let vendorID: UInt64 = 0x00C
    public static let deviceFeatures: UInt64 = 0x010
    public static let deviceFeaturesSelect: UInt64 = 0x014
    public static let driverFeatures: UInt64 = 0x020
    public static let driverFeaturesSelect: UInt64 = 0x024
    public static let queueSelect: UInt64 = 0x030
    public static let queueSizeMax: UInt64 = 0x034
    public static let queueSize: UInt64 = 0x038
    public static let queueReady: UInt64 = 0x044
    /// The driver writes a queue index here; the machine puts a KVM ioeventfd per queue on it.
    public static let queueNotify: UInt64 = 0x050
    public static let interruptStatus: UInt64 = 0x060
    public static let interruptAcknowledge: UInt64 = 0x064
    public static let status: UInt64 = 0x070
    public static let queueDescriptorLow: UInt64 = 0x080
    public static let queueDescriptorHigh: UInt64 = 0x084
    public static let queueDriverLow: UInt64 = 0x090
    public static let queueDriverHigh: UInt64 = 0x094
    public static let queueDeviceLow: UInt64 = 0x0A0
    public static let queueDeviceHigh: UInt64 = 0x0A4
    public static let sharedMemoryLengthLow: UInt64 = 0x0B0
    public static let sharedMemoryLengthHigh: UInt64 = 0x0B4
    public static let sharedMemoryBaseLow: UInt64 = 0x0B8
    public static let sharedMemoryBaseHigh: UInt64 = 0x0BC
    public static let configGeneration: UInt64 = 0x0FC
    public static let deviceConfiguration: UInt64 = 0x100

    /// "virt" in little-endian ASCII.
    public static let magic: UInt32 = 0x7472_6976
    /// The modern (virtio 1.x) register layout; 1 would be the legacy one, which is not offered.
    public static let modernVersion: UInt32 = 2
    /// The same vendor ID the PCI transport reports.
    public static let vendor: UInt32 = 0x1AF4
    /// Each device's window, as the `virtio_mmio.device=4K@…` words and the DSDT announce it.
    public static let windowSize: UInt64 = 0x1000
    public static let deviceConfigurationMaxLength: UInt64 = windowSize - deviceConfiguration
    /// Queue indices the notify register can name (any 16-bit queue_select works, but
    /// nothing needs more).
    public static let maxQueues = 1024

    /// The value a 32-bit read of `offset` returns; nil for offsets that are not registers
    /// (they read zero). `interruptStatus` is the transport's, as only it knows the line.
    static func read(_ registers: VirtioRegisters, offset: UInt64, deviceType: UInt16, offeredFeatures: UInt64, queueMaxSizes: [UInt16]) -> UInt32? {
        let queue = registers.selectedQueue
        let selected = Int(registers.queueSelect)
        switch offset {
        case magicValue: return magic
        case version: return modernVersion
        case deviceID: return UInt32(deviceType)
        case vendorID: return vendor
        case deviceFeatures: return registers.deviceFeatureWord(offered: offeredFeatures)
        // Zero says the selected queue does not exist.
        case queueSizeMax: return selected < queueMaxSizes.count ? UInt32(queueMaxSizes[selected]) : 0
        case queueSize: return UInt32(queue?.size ?? 0)
        case queueReady: return queue?.enabled == true ? 1 : 0
        case interruptStatus: return UInt32(registers.isr)
        case status: return UInt32(registers.status)
        case queueDescriptorLow: return low(queue?.descriptorTable)
        case queueDescriptorHigh: return high(queue?.descriptorTable)
        case queueDriverLow: return low(queue?.availRing)
        case queueDriverHigh: return high(queue?.availRing)
        case queueDeviceLow: return low(queue?.usedRing)
        case queueDeviceHigh: return high(queue?.usedRing)
        // No shared memory regions: a length of all ones says the selected one does not exist.
        case sharedMemoryLengthLow, sharedMemoryLengthHigh, sharedMemoryBaseLow, sharedMemoryBaseHigh: return UInt32.max
        case configGeneration: return UInt32(registers.configGeneration)
        default: return nil
        }
    }

    /// Applies a 32-bit write of `value` at `offset`. Read-only registers, unknown offsets
    /// and `queueNotify` (which the transport handles) change nothing here.
    static func write(_ registers: inout VirtioRegisters, offset: UInt64, value: UInt32, limits: VirtioRegisters.Limits) -> VirtioRegisters.Effect {
        switch offset {
        case deviceFeaturesSelect: registers.deviceFeatureSelect = value
        case driverFeatures: registers.writeDriverFeatureWord(value)
        case driverFeaturesSelect: registers.driverFeatureSelect = value
        // queue_select is 16 bits on every transport; a larger value selects no queue.
        case queueSelect: registers.queueSelect = value <= UInt32(UInt16.max) ? UInt16(value) : UInt16.max
        case queueSize: registers.updateSelectedQueue { $0.size = value <= UInt32(UInt16.max) ? UInt16(value) : 0 }
        // Setting ready to 0 would ask the device to stop using a live queue, which only a
        // reset does here (VIRTIO_F_RING_RESET is not offered).
        case queueReady where value == 1: registers.updateSelectedQueue { $0.enabled = true }
        case interruptAcknowledge: registers.isr &= ~UInt8(truncatingIfNeeded: value & UInt32(VirtioISR.queue | VirtioISR.configuration))
        case status: return value <= UInt32(UInt8.max) ? registers.writeStatus(UInt8(value), limits: limits) : .none
        case queueDescriptorLow, queueDescriptorHigh:
            registers.updateSelectedQueue { $0.descriptorTable = VirtioRegisters.merge($0.descriptorTable, half: (offset - queueDescriptorLow) / 4, width: 4, UInt64(value)) }
        case queueDriverLow, queueDriverHigh:
            registers.updateSelectedQueue { $0.availRing = VirtioRegisters.merge($0.availRing, half: (offset - queueDriverLow) / 4, width: 4, UInt64(value)) }
        case queueDeviceLow, queueDeviceHigh:
            registers.updateSelectedQueue { $0.usedRing = VirtioRegisters.merge($0.usedRing, half: (offset - queueDeviceLow) / 4, width: 4, UInt64(value)) }
        default: break
        }
        return .none
    }

    private static func low(_ value: UInt64?) -> UInt32 { UInt32(truncatingIfNeeded: value ?? 0) }
    private static func high(_ value: UInt64?) -> UInt32 { UInt32(truncatingIfNeeded: (value ?? 0) >> 32) }
}
