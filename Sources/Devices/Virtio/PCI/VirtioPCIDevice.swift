import GuestMemory
import SwiftletCore

/// The modern (virtio 1.x) PCI transport for any `VirtioDevice`.
///
/// Only what is PCI lives here: the configuration space with its virtio capabilities, the
/// one 64-bit BAR and how it is carved up (`VirtioPCILayout`), MSI-X, and the configuration
/// access window. Registers, queues, activation and reset are `core`'s, shared with every
/// other transport, so a new device type plugs in here without an edit.
public final class VirtioPCIDevice: PCIDevice, RestorableInPlace {
    public struct State: Codable, Sendable, Equatable {
        public var configuration: PCIConfigurationSpace.State
        public var msix: MSIXTable.State
        public var core: VirtioDeviceCore.State
    }

    public let core: VirtioDeviceCore
    public let configuration: PCIConfigurationSpace
    public let msix: MSIXTable
    public var queueCount: Int { core.queueCount }

    private let deviceConfigurationLength: UInt64
    private let msixCapability: Int
    private let configurationAccessCapability: Int
    /// Where each structure sits in the BAR, for routing an access.
    private let commonRange: AddressRange
    private let notifyRange: AddressRange
    private let deviceConfigurationRange: AddressRange
    private let msixTableRange: AddressRange
    private let msixPBARange: AddressRange

    /// - Parameters:
    ///   - device: the device model (e.g. `VirtioBlock`).
    ///   - memory: guest RAM the queues live in.
    ///   - msiSender: where MSI-X messages go (KVM_SIGNAL_MSI in the VMM).
    ///   - errorHandler: receives one line per rejected chain or ring, e.g.
    ///     "virtio-blk: rejected descriptor chain: loop".
    public init(device: any VirtioDevice, memory: GuestMemory, msiSender: any MSISender, errorHandler: @escaping @Sendable (String) -> Void = { _ in }) throws {
        let queueCount = device.queueMaxSizes.count
        guard device.configSpaceSize >= 0, UInt64(device.configSpaceSize) <= VirtioPCILayout.deviceConfigurationMaxLength else {
            throw VirtioError.invalidDevice("config space of \(device.configSpaceSize) bytes")
        }
        guard queueCount <= VirtioPCILayout.maxQueues else { throw VirtioError.invalidDevice("\(queueCount) queues") }
        // One vector per queue plus one for configuration changes.
        let msix = MSIXTable(vectorCount: queueCount + 1, sender: msiSender)
        self.msix = msix
        core = try VirtioDeviceCore(
            device: device, memory: memory, maxQueues: VirtioPCILayout.maxQueues, vectorCount: msix.vectorCount,
            interrupt: MSIXVirtioInterrupt(table: msix), errorHandler: errorHandler)
        deviceConfigurationLength = UInt64((device.configSpaceSize + 3) & ~3)
        commonRange = VirtioPCILayout.range(VirtioPCILayout.commonConfiguration, VirtioPCICommonConfiguration.length)
        notifyRange = VirtioPCILayout.range(VirtioPCILayout.notify, VirtioPCILayout.notifyMultiplier * UInt64(queueCount))
        deviceConfigurationRange = VirtioPCILayout.range(VirtioPCILayout.deviceConfiguration, deviceConfigurationLength)
        msixTableRange = VirtioPCILayout.range(VirtioPCILayout.msixTable, UInt64(msix.tableSize))
        msixPBARange = VirtioPCILayout.range(VirtioPCILayout.msixPBA, UInt64(msix.pbaSize))

        let (classCode, subclass) = Self.pciClass(deviceType: device.deviceType)
        let identity = PCIIdentity(
            vendorID: 0x1AF4, deviceID: 0x1040 &+ device.deviceType, revisionID: 1, classCode: classCode, subclass: subclass,
            subsystemVendorID: 0x1AF4, subsystemID: 0x1040 &+ device.deviceType)
        configuration = try PCIConfigurationSpace(
            identity: identity, bars: [PCIBARDefinition(index: VirtioPCILayout.bar, size: VirtioPCILayout.barSize, kind: .memory64)])
        let msixBody = msix.capability(
            tableBAR: VirtioPCILayout.bar, tableOffset: UInt32(VirtioPCILayout.msixTable),
            pbaBAR: VirtioPCILayout.bar, pbaOffset: UInt32(VirtioPCILayout.msixPBA))
        msixCapability = try configuration.addCapability(id: PCICapabilityID.msix, body: msixBody.body, writableMask: msixBody.writableMask)
        let vendor = PCICapabilityID.vendorSpecific
        try configuration.addCapability(id: vendor, body: VirtioPCILayout.capabilityBody(
            type: .common, offset: VirtioPCILayout.commonConfiguration, length: VirtioPCICommonConfiguration.length))
        try configuration.addCapability(id: vendor, body: VirtioPCILayout.capabilityBody(
            type: .notify, offset: VirtioPCILayout.notify, length: notifyRange.length, trailer: UInt32(VirtioPCILayout.notifyMultiplier)))
        try configuration.addCapability(id: vendor, body: VirtioPCILayout.capabilityBody(
            type: .isr, offset: VirtioPCILayout.isr, length: VirtioPCILayout.isrLength))
        if deviceConfigurationLength > 0 {
            try configuration.addCapability(id: vendor, body: VirtioPCILayout.capabilityBody(
                type: .device, offset: VirtioPCILayout.deviceConfiguration, length: deviceConfigurationLength))
        }
        configurationAccessCapability = try configuration.addCapability(
            id: vendor, body: VirtioPCILayout.capabilityBody(type: .pciConfiguration, offset: 0, length: 0, trailer: 0),
            writableMask: VirtioPCILayout.ConfigurationAccess.writableMask)
    }

    private static func pciClass(deviceType: UInt16) -> (UInt8, UInt8) {
        switch deviceType {
        case 1: return (0x02, 0x00)  // network controller
        case 2: return (0x01, 0x80)  // other mass storage
        default: return (0xFF, 0x00)
        }
    }

    // MARK: - Public entry points for the VMM

    /// Guest-physical address the driver writes to notify queue `index` while the BAR is
    /// mapped at `barBase` (register a KVM ioeventfd there, 2-byte writes). Nil for an
    /// unknown queue.
    public func notifyAddress(queue index: Int, barBase: UInt64) -> UInt64? {
        guard index >= 0 && index < queueCount else { return nil }
        return barBase &+ VirtioPCILayout.notify &+ VirtioPCILayout.notifyMultiplier * UInt64(index)
    }

    /// The driver kicked queue `index`. Returns at once; the work runs on the device's queue.
    public func notifyQueue(_ index: Int) { core.notifyQueue(index) }

    /// Waits until all queued device work has finished (before pausing or snapshotting).
    public func drain() { core.drain() }

    public var deviceStatus: UInt8 { core.deviceStatus }

    // MARK: - PCI

    public func readConfig(offset: Int, data: UnsafeMutableRawBufferPointer) {
        if touchesConfigurationAccessData(offset: offset, count: data.count), let target = configurationAccessTarget() {
            // Reading pci_cfg_data reads the BAR bytes the capability points at.
            var bytes = [UInt8](repeating: 0, count: 4)
            bytes.withUnsafeMutableBytes { readBAR(VirtioPCILayout.bar, offset: target.offset, data: UnsafeMutableRawBufferPointer(rebasing: $0[0..<target.length])) }
            bytes.withUnsafeBytes { configuration.write(offset: configurationAccessData, data: $0) }
        }
        configuration.read(offset: offset, data: data)
    }

    public func writeConfig(offset: Int, data: UnsafeRawBufferPointer) {
        configuration.write(offset: offset, data: data)
        let control = msixCapability + 2
        if AddressRange(start: UInt64(control), length: 2)!.overlaps(accessRange(offset: offset, count: data.count)) {
            msix.setMessageControl(configuration.readUInt16(at: control))
        }
        if touchesConfigurationAccessData(offset: offset, count: data.count), let target = configurationAccessTarget() {
            let bytes = [UInt8].littleEndian(configuration.readUInt32(at: configurationAccessData))
            bytes.withUnsafeBytes { writeBAR(VirtioPCILayout.bar, offset: target.offset, data: UnsafeRawBufferPointer(rebasing: $0[0..<target.length])) }
        }
    }

    private var configurationAccessData: Int { configurationAccessCapability + VirtioPCILayout.ConfigurationAccess.data }

    private func accessRange(offset: Int, count: Int) -> AddressRange {
        AddressRange(start: UInt64(max(offset, 0)), length: UInt64(count)) ?? AddressRange(start: 0, length: 0)!
    }

    private func touchesConfigurationAccessData(offset: Int, count: Int) -> Bool {
        AddressRange(start: UInt64(configurationAccessData), length: 4)!.overlaps(accessRange(offset: offset, count: count))
    }

    /// Where the PCI configuration access window points, if the driver set it up sanely:
    /// our BAR, a 1/2/4-byte length, the offset aligned to it and inside the BAR.
    private func configurationAccessTarget() -> (offset: UInt64, length: Int)? {
        let capability = configurationAccessCapability
        let bar = configuration.readUInt16(at: capability + VirtioPCILayout.ConfigurationAccess.bar) & 0xFF
        let offset = UInt64(configuration.readUInt32(at: capability + VirtioPCILayout.ConfigurationAccess.offset))
        let length = configuration.readUInt32(at: capability + VirtioPCILayout.ConfigurationAccess.length)
        guard bar == VirtioPCILayout.bar, [1, 2, 4].contains(length), offset % UInt64(length) == 0,
            VirtioPCILayout.barRange.contains(offset, count: UInt64(length))
        else { return nil }
        return (offset, Int(length))
    }

    /// The PCI root only routes accesses inside the BAR; each must also lie wholly inside
    /// one structure, or it reads zero and is dropped.
    public func readBAR(_ index: Int, offset: UInt64, data: UnsafeMutableRawBufferPointer) {
        data.fillWithZeros()
        let count = UInt64(data.count)
        guard index == VirtioPCILayout.bar, count > 0, count <= 8 else { return }
        if let relative = commonRange.offset(of: offset, count: count) {
            let image = core.readRegisters { VirtioPCICommonConfiguration.image(of: $0, offeredFeatures: core.offeredFeatures) }
            data.copyBytes(from: image[Int(relative)..<Int(relative + count)])
        } else if let relative = VirtioPCILayout.isrRange.offset(of: offset, count: count) {
            if relative == 0 { data[0] = core.takeInterruptStatus() }
        } else if let relative = deviceConfigurationRange.offset(of: offset, count: count) {
            core.device.readConfig(offset: Int(relative), data: data)
        } else if let relative = msixTableRange.offset(of: offset, count: count) {
            msix.readTable(offset: relative, data: data)
        } else if let relative = msixPBARange.offset(of: offset, count: count) {
            msix.readPBA(offset: relative, data: data)
        }
    }

    public func writeBAR(_ index: Int, offset: UInt64, data: UnsafeRawBufferPointer) {
        let count = UInt64(data.count)
        guard index == VirtioPCILayout.bar, count > 0, count <= 8 else { return }
        if let relative = commonRange.offset(of: offset, count: count) {
            let value = data.littleEndianValue
            core.writeRegisters { registers, limits in
                VirtioPCICommonConfiguration.write(&registers, offset: relative, width: data.count, value: value, limits: limits)
            }
        } else if let relative = notifyRange.offset(of: offset, count: count) {
            notifyQueue(Int(relative / VirtioPCILayout.notifyMultiplier))
        } else if let relative = deviceConfigurationRange.offset(of: offset, count: count) {
            core.device.writeConfig(offset: Int(relative), data: data)
        } else if let relative = msixTableRange.offset(of: offset, count: count) {
            msix.writeTable(offset: relative, data: data)
        }
    }

    // MARK: - Snapshot

    /// Waits for queued work, then captures transport, MSI-X and queue state. The device
    /// model's own state (e.g. `VirtioBlock.State`) is saved separately.
    public func saveState() -> State {
        let core = core.saveState()
        return State(configuration: configuration.saveState(), msix: msix.saveState(), core: core)
    }

    /// Rebuilds the live device from `state`, checking it like guest input. Restores BAR
    /// addresses in configuration space; the PCI root moves the BAR on the bus when its
    /// owner calls `PCIRoot.refreshMappings()`.
    public func restoreState(_ state: State) throws {
        guard state.msix.table.count == msix.tableSize, state.msix.pending.count == msix.vectorCount else {
            throw VirtioError.invalidState("MSI-X table size differs")
        }
        try core.restoreState(state.core) {
            try configuration.restoreState(state.configuration)
            try msix.restoreState(state.msix)
        }
        msix.setMessageControl(configuration.readUInt16(at: msixCapability + 2))
    }
}

/// Virtio interrupts as MSI-X messages: the vector the driver chose for the queue or for
/// configuration changes; NO_VECTOR means the driver wants none.
struct MSIXVirtioInterrupt: VirtioInterrupt {
    let table: MSIXTable

    func raise(vector: UInt16) {
        if vector != MSIXTable.noVector { table.signal(vector: vector) }
    }
}
