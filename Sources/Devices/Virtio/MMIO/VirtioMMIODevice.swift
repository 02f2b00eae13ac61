import GuestMemory
import SwiftletCore
import Synchronization

/// The virtio-mmio transport (virtio 1.x §4.2, version 2 registers only) for any
/// `VirtioDevice`: one 4 KiB register window on the MMIO bus and one interrupt line.
///
/// Only what is virtio-mmio lives here: the register layout (`VirtioMMIORegisters`), the
/// device configuration window at 0x100 and the level of the interrupt line. Registers,
/// queues, activation and reset are `core`'s, shared with virtio-pci.
public final class VirtioMMIODevice: BusDevice, RestorableInPlace {
    public struct State: Codable, Sendable, Equatable {
        public var core: VirtioDeviceCore.State
    }

    public let core: VirtioDeviceCore
    public var queueCount: Int { core.queueCount }
    private let interrupt: VirtioMMIOInterrupt
    private let deviceConfigurationRange: AddressRange

    /// - Parameters:
    ///   - device: the device model (e.g. `VirtioBlock`).
    ///   - memory: guest RAM the queues live in.
    ///   - interruptLine: the device's one interrupt (an IOAPIC GSI in the VMM); it is held
    ///     asserted while the interrupt status has a bit set.
    ///   - errorHandler: receives one line per rejected chain or ring.
    public init(
        device: any VirtioDevice, memory: GuestMemory, interruptLine: any InterruptLine, errorHandler: @escaping @Sendable (String) -> Void = { _ in }
    ) throws {
        guard device.configSpaceSize >= 0, UInt64(device.configSpaceSize) <= VirtioMMIORegisters.deviceConfigurationMaxLength else {
            throw VirtioError.invalidDevice("config space of \(device.configSpaceSize) bytes")
        }
        let interrupt = VirtioMMIOInterrupt(line: interruptLine)
        self.interrupt = interrupt
        core = try VirtioDeviceCore(
            device: device, memory: memory, maxQueues: VirtioMMIORegisters.maxQueues, vectorCount: 0, interrupt: interrupt,
            errorHandler: errorHandler)
        interrupt.follow(core)
        // Rounded up to a dword, like virtio-pci's device configuration structure.
        let length = UInt64((device.configSpaceSize + 3) & ~3)
        deviceConfigurationRange = AddressRange(start: VirtioMMIORegisters.deviceConfiguration, length: length)!
    }

    // MARK: - Entry points for the VMM

    /// Offset of the queue-notify register in the window: the VMM puts one ioeventfd per
    /// queue there, matching the queue index the driver writes (4-byte writes).
    public static let notifyOffset = VirtioMMIORegisters.queueNotify

    /// The driver kicked queue `index`. Returns at once; the work runs on the device's queue.
    public func notifyQueue(_ index: Int) { core.notifyQueue(index) }

    /// Waits until all queued device work has finished (before pausing or snapshotting).
    public func drain() { core.drain() }

    public var deviceStatus: UInt8 { core.deviceStatus }

    // MARK: - Bus

    /// Where an access goes. Registers answer 32-bit accesses at their own offset only; the
    /// device configuration answers 1- to 8-byte accesses inside it; anything else reads zero
    /// and drops writes.
    private enum AccessTarget {
        case deviceConfiguration(offset: Int)
        case register
        case ignored
    }

    private func target(offset: UInt64, count: Int) -> AccessTarget {
        if let relative = deviceConfigurationRange.offset(of: offset, count: UInt64(count)) {
            return count <= 8 ? .deviceConfiguration(offset: Int(relative)) : .ignored
        }
        return count == 4 && offset % 4 == 0 ? .register : .ignored
    }

    public func read(offset: UInt64, data: UnsafeMutableRawBufferPointer) {
        data.fillWithZeros()
        switch target(offset: offset, count: data.count) {
        case .ignored: return
        case .deviceConfiguration(let relative): core.device.readConfig(offset: relative, data: data)
        case .register:
            let value = core.readRegisters {
                VirtioMMIORegisters.read(
                    $0, offset: offset, deviceType: core.device.deviceType, offeredFeatures: core.offeredFeatures, queueMaxSizes: core.queueMaxSizes)
            }
            if let value { data.storeLittleEndian(value, at: 0) }
        }
    }

    public func write(offset: UInt64, data: UnsafeRawBufferPointer) {
        switch target(offset: offset, count: data.count) {
        case .ignored: return
        case .deviceConfiguration(let relative):
            core.device.writeConfig(offset: relative, data: data)
            return
        case .register: break
        }
        let value = UInt32(truncatingIfNeeded: data.littleEndianValue)
        if offset == VirtioMMIORegisters.queueNotify {
            notifyQueue(Int(value))
            return
        }
        core.writeRegisters { registers, limits in
            VirtioMMIORegisters.write(&registers, offset: offset, value: value, limits: limits)
        }
        // An acknowledgement or a reset may have cleared the interrupt status.
        interrupt.update()
    }

    // MARK: - Snapshot

    /// Waits for queued work, then captures registers and queue state. The device model's
    /// own state is saved separately.
    public func saveState() -> State {
        State(core: core.saveState())
    }

    /// Rebuilds the live device from `state`, checking it like guest input, and drives the
    /// interrupt line to match the restored interrupt status.
    public func restoreState(_ state: State) throws {
        try core.restoreState(state.core) {}
        interrupt.update()
    }
}
