import Synchronization

/// The 256-byte configuration space of one PCI function.
///
/// Every byte has a write mask, so a driver can only change what real hardware would let it
/// change (command, BARs, interrupt line, the writable bits of capabilities); identity fields
/// and the capability chain stay as the VMM built them. BAR registers are kept apart from the
/// byte array because their reads are computed: address bits from the last write, type bits
/// fixed, and the bits below the size reading zero, which is what makes BAR sizing work.
public final class PCIConfigurationSpace: Sendable {
    public static let size = 256

    public struct State: Codable, Sendable, Equatable {
        public var bytes: [UInt8]
        public var barRegisters: [UInt32]
    }

    private struct Storage {
        var bytes = [UInt8](repeating: 0, count: PCIConfigurationSpace.size)
        var writable = [UInt8](repeating: 0, count: PCIConfigurationSpace.size)
        var barRegisters = [UInt32](repeating: 0, count: 6)
        var nextCapability = PCIRegister.firstCapability
        var lastCapability: Int?
    }

    public let bars: [PCIBARDefinition]
    /// Per BAR register: which bits a write may set, and the fixed type bits.
    private let barAddressMasks: [UInt32]
    private let barTypeBits: [UInt32]
    private let storage: Mutex<Storage>
    /// Called after a restore so the PCI bus can move BAR mappings to the restored addresses.
    private let mappingListener = Mutex<(@Sendable () -> Void)?>(nil)

    public init(identity: PCIIdentity, bars: [PCIBARDefinition] = []) throws {
        var masks = [UInt32](repeating: 0, count: 6)
        var types = [UInt32](repeating: 0, count: 6)
        var used = [Bool](repeating: false, count: 6)
        for bar in bars {
            guard bar.isValid, !used[bar.index] else { throw PCIError.invalidBAR(index: bar.index) }
            used[bar.index] = true
            let sizeMask = ~(bar.size - 1)
            masks[bar.index] = UInt32(truncatingIfNeeded: sizeMask) & 0xFFFF_FFF0
            types[bar.index] = bar.typeBits
            if bar.kind == .memory64 {
                guard !used[bar.index + 1] else { throw PCIError.overlappingBARs(index: bar.index + 1) }
                used[bar.index + 1] = true
                masks[bar.index + 1] = UInt32(truncatingIfNeeded: sizeMask >> 32)
            }
        }
        self.bars = bars.sorted { $0.index < $1.index }
        barAddressMasks = masks
        barTypeBits = types

        var storage = Storage()
        func put16(_ value: UInt16, _ offset: Int) {
            storage.bytes[offset] = UInt8(truncatingIfNeeded: value)
            storage.bytes[offset + 1] = UInt8(truncatingIfNeeded: value >> 8)
        }
        put16(identity.vendorID, PCIRegister.vendorID)
        put16(identity.deviceID, PCIRegister.deviceID)
        storage.bytes[PCIRegister.revisionID] = identity.revisionID
        storage.bytes[PCIRegister.progIF] = identity.progIF
        storage.bytes[PCIRegister.subclass] = identity.subclass
        storage.bytes[PCIRegister.classCode] = identity.classCode
        put16(identity.subsystemVendorID, PCIRegister.subsystemVendorID)
        put16(identity.subsystemID, PCIRegister.subsystemID)
        storage.bytes[PCIRegister.interruptPin] = identity.interruptPin
        storage.writable[PCIRegister.command] = UInt8(truncatingIfNeeded: PCICommand.writable)
        storage.writable[PCIRegister.command + 1] = UInt8(truncatingIfNeeded: PCICommand.writable >> 8)
        storage.writable[PCIRegister.cacheLineSize] = 0xFF
        storage.writable[PCIRegister.latencyTimer] = 0xFF
        storage.writable[PCIRegister.interruptLine] = 0xFF
        self.storage = Mutex(storage)
    }

    // MARK: - Capabilities (built by the VMM before the device is attached)

    /// Appends a capability and links it into the list; returns its offset.
    /// `body` follows the ID and next-pointer bytes; `writableMask` (same length as `body`)
    /// says which of its bits the driver may change.
    @discardableResult
    public func addCapability(id: UInt8, body: [UInt8], writableMask: [UInt8]? = nil) throws -> Int {
        try storage.withLock { storage in
            let offset = storage.nextCapability
            let length = body.count + 2
            guard offset + length <= PCIConfigurationSpace.size else { throw PCIError.capabilitySpaceFull }
            storage.bytes[offset] = id
            storage.bytes[offset + 1] = 0
            for (index, byte) in body.enumerated() { storage.bytes[offset + 2 + index] = byte }
            if let writableMask {
                for (index, byte) in writableMask.prefix(body.count).enumerated() { storage.writable[offset + 2 + index] = byte }
            }
            if let last = storage.lastCapability {
                storage.bytes[last + 1] = UInt8(offset)
            } else {
                storage.bytes[PCIRegister.capabilitiesPointer] = UInt8(offset)
                storage.bytes[PCIRegister.status] |= 0x10  // capability list present
            }
            storage.lastCapability = offset
            storage.nextCapability = (offset + length + 3) & ~3
            return offset
        }
    }

    // MARK: - Guest access

    /// Reads bytes at `offset`; the caller keeps the access inside one dword.
    public func read(offset: Int, data: UnsafeMutableRawBufferPointer) {
        storage.withLock { storage in
            for index in 0..<data.count {
                let position = offset + index
                data[index] = position >= 0 && position < PCIConfigurationSpace.size ? byte(at: position, in: storage) : 0xFF
            }
        }
    }

    /// Writes bytes at `offset` through the write masks; the caller keeps the access inside one dword.
    public func write(offset: Int, data: UnsafeRawBufferPointer) {
        guard offset >= 0, offset + data.count <= PCIConfigurationSpace.size, !data.isEmpty else { return }
        storage.withLock { storage in
            if offset >= PCIRegister.bar0 && offset < PCIRegister.barEnd {
                let register = (offset - PCIRegister.bar0) / 4
                let shift = (offset & 3) * 8
                var value = storage.barRegisters[register]
                for (index, byte) in data.enumerated() where shift + index * 8 < 32 {
                    let bit = shift + index * 8
                    value = (value & ~(0xFF << bit)) | (UInt32(byte) << bit)
                }
                storage.barRegisters[register] = value & barAddressMasks[register]
                return
            }
            for (index, byte) in data.enumerated() {
                let position = offset + index
                let mask = storage.writable[position]
                storage.bytes[position] = (storage.bytes[position] & ~mask) | (byte & mask)
            }
        }
    }

    private func byte(at position: Int, in storage: Storage) -> UInt8 {
        if position >= PCIRegister.bar0 && position < PCIRegister.barEnd {
            let register = (position - PCIRegister.bar0) / 4
            let value = storage.barRegisters[register] | barTypeBits[register]
            return UInt8(truncatingIfNeeded: value >> ((position & 3) * 8))
        }
        if position >= PCIRegister.expansionROM && position < PCIRegister.expansionROM + 4 { return 0 }
        return storage.bytes[position]
    }

    // MARK: - VMM-side helpers

    public func readUInt16(at offset: Int) -> UInt16 {
        var value: UInt16 = 0
        withUnsafeMutableBytes(of: &value) { read(offset: offset, data: $0) }
        return UInt16(littleEndian: value)
    }

    public func readUInt32(at offset: Int) -> UInt32 {
        var value: UInt32 = 0
        withUnsafeMutableBytes(of: &value) { read(offset: offset, data: $0) }
        return UInt32(littleEndian: value)
    }

    public var command: UInt16 { readUInt16(at: PCIRegister.command) }

    /// Sets command bits as firmware would before handing the device to the OS.
    public func enableCommand(_ bits: UInt16) {
        storage.withLock { storage in
            let value = (UInt16(storage.bytes[PCIRegister.command]) | UInt16(storage.bytes[PCIRegister.command + 1]) << 8) | (bits & PCICommand.writable)
            storage.bytes[PCIRegister.command] = UInt8(truncatingIfNeeded: value)
            storage.bytes[PCIRegister.command + 1] = UInt8(truncatingIfNeeded: value >> 8)
        }
    }

    /// The address programmed into `bar`, or nil when the device has no such BAR.
    public func barAddress(_ index: Int) -> UInt64? {
        guard let bar = bars.first(where: { $0.index == index }) else { return nil }
        return storage.withLock { storage in
            let low = UInt64(storage.barRegisters[index] & 0xFFFF_FFF0)
            guard bar.kind == .memory64 else { return low }
            return low | UInt64(storage.barRegisters[index + 1]) << 32
        }
    }

    /// Programs `bar` with `address` (the VMM's pre-assignment); bits below the size are dropped.
    public func setBARAddress(_ index: Int, _ address: UInt64) {
        guard let bar = bars.first(where: { $0.index == index }) else { return }
        storage.withLock { storage in
            storage.barRegisters[index] = UInt32(truncatingIfNeeded: address) & barAddressMasks[index]
            if bar.kind == .memory64 {
                storage.barRegisters[index + 1] = UInt32(truncatingIfNeeded: address >> 32) & barAddressMasks[index + 1]
            }
        }
    }

    func setMappingListener(_ listener: (@Sendable () -> Void)?) {
        mappingListener.withLock { $0 = listener }
    }

    // MARK: - Snapshot

    public func saveState() -> State {
        storage.withLock { State(bytes: $0.bytes, barRegisters: $0.barRegisters) }
    }

    /// Restores the writable parts; read-only bytes must match this device exactly, so a
    /// snapshot of a different device (or a doctored one) is refused rather than half-applied.
    public func restoreState(_ state: State) throws {
        guard state.bytes.count == PCIConfigurationSpace.size, state.barRegisters.count == 6 else {
            throw PCIError.stateMismatch("configuration space has the wrong size")
        }
        try storage.withLock { storage in
            for position in 0..<PCIConfigurationSpace.size {
                if position >= PCIRegister.bar0 && position < PCIRegister.barEnd { continue }
                let fixed = ~storage.writable[position]
                guard storage.bytes[position] & fixed == state.bytes[position] & fixed else {
                    throw PCIError.stateMismatch("read-only byte 0x\(String(position, radix: 16)) differs")
                }
            }
            for position in 0..<PCIConfigurationSpace.size {
                let mask = storage.writable[position]
                storage.bytes[position] = (storage.bytes[position] & ~mask) | (state.bytes[position] & mask)
            }
            for register in 0..<6 { storage.barRegisters[register] = state.barRegisters[register] & barAddressMasks[register] }
        }
        mappingListener.withLock { $0 }?()
    }
}
