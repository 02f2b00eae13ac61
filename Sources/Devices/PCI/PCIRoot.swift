import SwiftletCore
import Synchronization

/// PCI bus 0: the host bridge plus up to 31 devices, one function each.
///
/// Owns where BARs live in the MMIO bus. The VMM pre-assigns BARs from `mmioWindow` when it
/// attaches a device (as firmware would) and the mapping then follows the guest: a BAR is
/// decoded only while COMMAND.MEM is set and its address lies wholly in the window and does
/// not collide with anything else on the bus. Garbage (a half-written 64-bit BAR, sizing
/// patterns, overlaps) just leaves the BAR unmapped until the guest programs something sane.
///
/// Moving a BAR on the MMIO bus happens inside the configuration write that caused it; the
/// write returns what moved, so the VMM can move what it keeps outside the bus (ioeventfds)
/// on the same thread before the guest's next access.
public final class PCIRoot: Sendable, Snapshottable {
    public static let slotCount = 32

    private struct Slot {
        let device: any PCIDevice
        let regions: [PCIBARRegion]
        var mapped: [UInt64?]
    }

    private struct Storage {
        var slots: [Slot?] = Array(repeating: nil, count: PCIRoot.slotCount)
        var nextFree: UInt64
    }

    /// A BAR that started or stopped being decoded at an address.
    public struct BARMapping: Sendable, Equatable {
        public let slot: Int
        public let bar: Int
        /// The new base, or nil when the BAR is no longer mapped.
        public let base: UInt64?

        public init(slot: Int, bar: Int, base: UInt64?) {
            self.slot = slot
            self.bar = bar
            self.base = base
        }
    }

    /// What the root itself holds; each attached device saves its own configuration space.
    public struct State: Codable, Sendable, Equatable {
        public var hostBridge: PCIConfigurationSpace.State
    }

    public let mmioBus: Bus
    public let mmioWindow: AddressRange
    public let hostBridge = PCIHostBridge()
    private let storage: Mutex<Storage>

    /// `mmioWindow` is where BARs may live (X86Layout's PCI MMIO hole).
    public init(mmioBus: Bus, mmioWindow: AddressRange) {
        self.mmioBus = mmioBus
        self.mmioWindow = mmioWindow
        var storage = Storage(nextFree: mmioWindow.start)
        storage.slots[0] = Slot(device: hostBridge, regions: [], mapped: [])
        self.storage = Mutex(storage)
    }

    /// Puts `device` in the next free slot, assigns its BARs from the window, enables memory
    /// decoding and maps the BARs. Returns the slot (device number).
    @discardableResult
    public func attach(_ device: any PCIDevice) throws(PCIError) -> Int {
        try storage.withLock { (storage: inout Storage) throws(PCIError) -> Int in
            guard let slot = storage.slots.firstIndex(where: { $0 == nil }) else { throw .noFreeSlot }
            var cursor = storage.nextFree
            var assignments: [(Int, UInt64)] = []
            for bar in device.configuration.bars {
                let aligned = (cursor &+ (bar.size - 1)) & ~(bar.size - 1)
                guard aligned >= cursor, let placed = AddressRange(start: aligned, length: bar.size), mmioWindow.contains(placed) else {
                    throw .mmioWindowExhausted(needed: bar.size)
                }
                assignments.append((bar.index, aligned))
                cursor = aligned + bar.size
            }
            for (index, base) in assignments { device.configuration.setBARAddress(index, base) }
            device.configuration.enableCommand(PCICommand.memorySpace)
            storage.nextFree = cursor
            let regions = device.configuration.bars.map { PCIBARRegion(device: device, index: $0.index) }
            storage.slots[slot] = Slot(device: device, regions: regions, mapped: Array(repeating: nil, count: regions.count))
            _ = synchronize(slot: slot, in: &storage)
            if let missing = storage.slots[slot]?.mapped.firstIndex(where: { $0 == nil }) {
                let (index, base) = assignments[missing]
                unmapAll(slot: slot, in: &storage)
                storage.slots[slot] = nil
                throw .barPlacementFailed(slot: slot, bar: index, base: base)
            }
            return slot
        }
    }

    public func device(atSlot slot: Int) -> (any PCIDevice)? {
        guard slot >= 0 && slot < PCIRoot.slotCount else { return nil }
        return storage.withLock { $0.slots[slot]?.device }
    }

    /// Where `bar` of the device in `slot` is currently mapped, if it is.
    public func mappedAddress(slot: Int, bar: Int) -> UInt64? {
        guard slot >= 0 && slot < PCIRoot.slotCount else { return nil }
        return storage.withLock { storage in
            guard let entry = storage.slots[slot],
                let position = entry.device.configuration.bars.firstIndex(where: { $0.index == bar })
            else { return nil }
            return entry.mapped[position]
        }
    }

    // MARK: - Configuration access (from mechanism #1)

    /// Absent slots read all ones.
    public func readConfig(slot: Int, offset: Int, data: UnsafeMutableRawBufferPointer) {
        guard let device = device(atSlot: slot) else {
            data.fillWithOnes()
            return
        }
        device.readConfig(offset: offset, data: data)
    }

    /// Writes go to the device, then BAR mappings on the MMIO bus follow whatever the guest
    /// changed; returns the BARs that moved. The device runs without the bus lock held (its
    /// side effects may wait for its I/O queue); re-deriving the mappings from configuration
    /// space under the lock keeps two vCPUs from interleaving a move.
    public func writeConfig(slot: Int, offset: Int, data: UnsafeRawBufferPointer) -> [BARMapping] {
        guard let device = device(atSlot: slot) else { return [] }
        device.writeConfig(offset: offset, data: data)
        return storage.withLock { synchronize(slot: slot, in: &$0) }
    }

    /// Re-derives every BAR mapping from configuration space (after devices restored theirs);
    /// returns the BARs that moved.
    public func refreshMappings() -> [BARMapping] {
        storage.withLock { storage in
            (0..<PCIRoot.slotCount).flatMap { synchronize(slot: $0, in: &storage) }
        }
    }

    // MARK: - Mapping

    private func synchronize(slot: Int, in storage: inout Storage) -> [BARMapping] {
        guard var entry = storage.slots[slot] else { return [] }
        let configuration = entry.device.configuration
        let decoding = configuration.command & PCICommand.memorySpace != 0
        var changes: [BARMapping] = []
        for (position, bar) in configuration.bars.enumerated() {
            var wanted: UInt64? = nil
            if decoding, let base = configuration.barAddress(bar.index), let range = AddressRange(start: base, length: bar.size),
                mmioWindow.contains(range)
            {
                wanted = base
            }
            guard wanted != entry.mapped[position] else { continue }
            let region = entry.regions[position]
            if let old = entry.mapped[position] { mmioBus.remove(region, base: old) }
            entry.mapped[position] = nil
            if let wanted, (try? mmioBus.insert(region, base: wanted, length: bar.size)) != nil {
                entry.mapped[position] = wanted
            }
            changes.append(BARMapping(slot: slot, bar: bar.index, base: entry.mapped[position]))
        }
        storage.slots[slot] = entry
        return changes
    }

    private func unmapAll(slot: Int, in storage: inout Storage) {
        guard let entry = storage.slots[slot] else { return }
        for (position, base) in entry.mapped.enumerated() {
            if let base { mmioBus.remove(entry.regions[position], base: base) }
        }
    }

    // MARK: - Snapshot

    public func saveState() -> State {
        State(hostBridge: hostBridge.configuration.saveState())
    }

    /// Restores the host bridge and re-derives every BAR mapping from the (already restored)
    /// devices' configuration spaces; returns the BARs that moved.
    public func restoreState(_ state: State) throws(PCIError) -> [BARMapping] {
        try hostBridge.configuration.restoreState(state.hostBridge)
        return refreshMappings()
    }
}
