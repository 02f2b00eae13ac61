import SwiftletCore

/// The virtio-pci common configuration structure (virtio 1.x §4.1.4.3): where each of the
/// transport-independent `VirtioRegisters` sits in the BAR, and how wide its access must be.
enum VirtioPCICommonConfiguration {
    /// Size of the structure as mapped in the BAR (0x38 bytes of registers, then the
    /// queue_notify_data / queue_reset words of newer drivers, which read zero here).
    static let length: UInt64 = 0x40

    /// The structure as the driver sees it.
    static func image(of registers: VirtioRegisters, offeredFeatures: UInt64) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: Int(length))
        bytes.storeLittleEndian(registers.deviceFeatureSelect, at: 0x00)
        bytes.storeLittleEndian(registers.deviceFeatureWord(offered: offeredFeatures), at: 0x04)
        bytes.storeLittleEndian(registers.driverFeatureSelect, at: 0x08)
        bytes.storeLittleEndian(registers.driverFeatureWord, at: 0x0C)
        bytes.storeLittleEndian(registers.configVector, at: 0x10)
        bytes.storeLittleEndian(UInt16(registers.queues.count), at: 0x12)
        bytes.storeLittleEndian(registers.status, at: 0x14)
        bytes.storeLittleEndian(registers.configGeneration, at: 0x15)
        bytes.storeLittleEndian(registers.queueSelect, at: 0x16)
        if let queue = registers.selectedQueue {
            bytes.storeLittleEndian(queue.size, at: 0x18)
            bytes.storeLittleEndian(queue.vector, at: 0x1A)
            bytes.storeLittleEndian(UInt16(queue.enabled ? 1 : 0), at: 0x1C)
            bytes.storeLittleEndian(registers.queueSelect, at: 0x1E)  // queue_notify_off: one notify slot per queue
            bytes.storeLittleEndian(queue.descriptorTable, at: 0x20)
            bytes.storeLittleEndian(queue.availRing, at: 0x28)
            bytes.storeLittleEndian(queue.usedRing, at: 0x30)
        }
        return bytes
    }

    /// Applies a write of `width` bytes at `offset`. Accesses that do not match a register
    /// exactly (and 8-byte accesses to the 64-bit queue addresses) are ignored.
    static func write(
        _ registers: inout VirtioRegisters, offset: UInt64, width: Int, value: UInt64, limits: VirtioRegisters.Limits
    ) -> VirtioRegisters.Effect {
        switch (offset, width) {
        case (0x00, 4): registers.deviceFeatureSelect = UInt32(truncatingIfNeeded: value)
        case (0x08, 4): registers.driverFeatureSelect = UInt32(truncatingIfNeeded: value)
        case (0x0C, 4): registers.writeDriverFeatureWord(UInt32(truncatingIfNeeded: value))
        case (0x10, 2): registers.setConfigVector(value, limits: limits)
        case (0x14, 1): return registers.writeStatus(UInt8(truncatingIfNeeded: value), limits: limits)
        case (0x16, 2): registers.queueSelect = UInt16(truncatingIfNeeded: value)
        case (0x18, 2): registers.updateSelectedQueue { $0.size = UInt16(truncatingIfNeeded: value) }
        case (0x1A, 2): registers.setSelectedQueueVector(value, limits: limits)
        case (0x1C, 2) where value == 1: registers.updateSelectedQueue { $0.enabled = true }
        case (0x20, 4), (0x24, 4), (0x20, 8):
            registers.updateSelectedQueue { $0.descriptorTable = VirtioRegisters.merge($0.descriptorTable, half: (offset - 0x20) / 4, width: width, value) }
        case (0x28, 4), (0x2C, 4), (0x28, 8):
            registers.updateSelectedQueue { $0.availRing = VirtioRegisters.merge($0.availRing, half: (offset - 0x28) / 4, width: width, value) }
        case (0x30, 4), (0x34, 4), (0x30, 8):
            registers.updateSelectedQueue { $0.usedRing = VirtioRegisters.merge($0.usedRing, half: (offset - 0x30) / 4, width: width, value) }
        default: break
        }
        return .none
    }
}
