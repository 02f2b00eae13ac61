import Synchronization

/// PCI bus 0: the host bridge plus up to 31 devices, one function each.
///
/// Owns where BARs live in the MMIO bus. The VMM pre-assigns BARs from `mmioWindow` when it
/// attaches a device (as firmware would) and the mapping then follows the guest: a BAR is
/// decoded only while COMMAND.MEM is set and its address lies wholly in the window and does
/// not collide with anything else on the bus. Garbage (a half-written 64-bit BAR, sizing
/// patterns, overlaps) just leaves the BAR unmapped until the guest programs something sane.
public final class PCIRoot: Sendable {
    public static let slotCount = 32

    private struct Slot {
        let device: any PCIDevice
        let regions: [PCIBARRegion]
        var mapped: [UInt64?]
    }

    private struct Storage {
        var slots: [Slot?] = Array(repeating: nil, count: PCIRoot.slotCount)
        var nextFree: UInt64
        var observer: (@Sendable (BARMapping) -> Void)?
    }

    /// A BAR that started or stopped being decoded at an address.
    public struct BARMapping: Sendable, Equatable {
        public let slot: Int
        public let bar: Int
        /// The new base, or nil when the BAR is no longer mapped.
        public let base: UInt64?
    }

    /// What the root itself holds; each attached device saves its own configuration space.
    public struct State: Codable, Sendable, Equatable {
        public var hostBridge: PCIConfigurationSpace.State
    }

    public let mmioBus: Bus
    public let mmioWindow: Range<UInt64>
    public let hostBridge = PCIHostBridge()
    private let storage: Mutex<Storage>

    /// `mmioWindow` is where BARs may live (X86Layout.pciMMIOStart..<pciMMIOEnd).
    public init(mmioBus: Bus, mmioWindow: Range<UInt64>) {
        self.mmioBus = mmioBus
        self.mmioWindow = mmioWindow
        var storage = Storage(nextFree: mmioWindow.lowerBound)
        storage.slots[0] = Slot(device: hostBridge, regions: [], mapped: [])
        self.storage = Mutex(storage)
    }

    /// Puts `device` in the next free slot, assigns its BARs from the window, enables memory
    /// decoding and maps the BARs. Returns the slot (device number).
    @discardableResult
    public func attach(_ device: any PCIDevice) throws -> Int {
        let slot = try storage.withLock { storage -> Int in
            guard let slot = storage.slots.firstIndex(where: { $0 == nil }) else { throw PCIError.noFreeSlot }
            var cursor = storage.nextFree
            var assignments: [(Int, UInt64)] = []
            for bar in device.configuration.bars {
                let aligned = (cursor &+ (bar.size - 1)) & ~(bar.size - 1)
                guard aligned >= cursor, aligned <= mmioWindow.upperBound,
                    mmioWindow.upperBound - aligned >= bar.size
                else { throw PCIError.mmioWindowExhausted(needed: bar.size) }
                assignments.append((bar.index, aligned))
                cursor = aligned + bar.size
            }
            for (index, base) in assignments { device.configuration.setBARAddress(index, base) }
            device.configuration.enableCommand(PCICommand.memorySpace)
            storage.nextFree = cursor
            let regions = device.configuration.bars.map { PCIBARRegion(device: device, index: $0.index) }
            storage.slots[slot] = Slot(device: device, regions: regions, mapped: Array(repeating: nil, count: regions.count))
            synchronize(slot: slot, in: &storage)
            if let missing = storage.slots[slot]?.mapped.firstIndex(where: { $0 == nil }) {
                let (index, base) = assignments[missing]
                unmapAll(slot: slot, in: &storage)
                storage.slots[slot] = nil
                throw PCIError.barPlacementFailed(slot: slot, bar: index, base: base)
            }
            return slot
        }
        device.configuration.setMappingListener { [weak self] in self?.refreshMappings(slot: slot) }
        return slot
    }

    /// Tells the VMM whenever the guest moves, unmaps or remaps a BAR, so that anything
    /// registered at a BAR address outside the bus (KVM ioeventfds on virtio notify
    /// addresses) can follow. Called with the bus locked: it must not call back into `PCIRoot`.
    public func setBARObserver(_ observer: (@Sendable (BARMapping) -> Void)?) {
        storage.withLock { $0.observer = observer }
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
            for index in data.indices { data[index] = 0xFF }
            return
        }
        device.readConfig(offset: offset, data: data)
    }

    /// Writes go to the device, then BAR mappings follow whatever the guest changed. The
    /// device runs without the bus lock held (its side effects may wait for its I/O queue);
    /// re-deriving the mappings from configuration space under the lock keeps two vCPUs
    /// from interleaving a move.
    public func writeConfig(slot: Int, offset: Int, data: UnsafeRawBufferPointer) {
        guard let device = device(atSlot: slot) else { return }
        device.writeConfig(offset: offset, data: data)
        refreshMappings(slot: slot)
    }

    /// Re-derives every BAR mapping from configuration space (after a restore).
    public func refreshMappings() {
        storage.withLock { storage in
            for slot in 0..<PCIRoot.slotCount { synchronize(slot: slot, in: &storage) }
        }
    }

    func refreshMappings(slot: Int) {
        storage.withLock { synchronize(slot: slot, in: &$0) }
    }

    // MARK: - Mapping

    private func synchronize(slot: Int, in storage: inout Storage) {
        guard var entry = storage.slots[slot] else { return }
        let configuration = entry.device.configuration
        let decoding = configuration.command & PCICommand.memorySpace != 0
        for (position, bar) in configuration.bars.enumerated() {
            var wanted: UInt64? = nil
            if decoding, let base = configuration.barAddress(bar.index), fitsWindow(base: base, size: bar.size) {
                wanted = base
            }
            guard wanted != entry.mapped[position] else { continue }
            let region = entry.regions[position]
            if let old = entry.mapped[position] { mmioBus.remove(region, base: old) }
            entry.mapped[position] = nil
            if let wanted, (try? mmioBus.insert(region, base: wanted, length: bar.size)) != nil {
                entry.mapped[position] = wanted
            }
            storage.observer?(BARMapping(slot: slot, bar: bar.index, base: entry.mapped[position]))
        }
        storage.slots[slot] = entry
    }

    private func unmapAll(slot: Int, in storage: inout Storage) {
        guard let entry = storage.slots[slot] else { return }
        for (position, base) in entry.mapped.enumerated() {
            if let base { mmioBus.remove(entry.regions[position], base: base) }
        }
    }

    private func fitsWindow(base: UInt64, size: UInt64) -> Bool {
        base >= mmioWindow.lowerBound && base <= mmioWindow.upperBound && mmioWindow.upperBound - base >= size
    }

    // MARK: - Snapshot

    public func saveState() -> State {
        State(hostBridge: hostBridge.configuration.saveState())
    }

    /// Restores the host bridge and re-derives every BAR mapping from the (already restored)
    /// devices' configuration spaces.
    public func restoreState(_ state: State) throws {
        try hostBridge.configuration.restoreState(state.hostBridge)
        refreshMappings()
    }
}
