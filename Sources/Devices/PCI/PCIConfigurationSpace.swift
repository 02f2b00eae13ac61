import SwiftletCore
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
    /// The whole space, for checking guest offsets.
    static let space = AddressRange(start: 0, length: UInt64(size))!
    /// The six BAR registers, whose reads are computed.
    static let barRegisterRange = AddressRange(start: UInt64(PCIRegister.bar0), length: UInt64(PCIRegister.barEnd - PCIRegister.bar0))!
    static let expansionROMRange = AddressRange(start: UInt64(PCIRegister.expansionROM), length: 4)!

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
        storage.bytes.storeLittleEndian(identity.vendorID, at: PCIRegister.vendorID)
        storage.bytes.storeLittleEndian(identity.deviceID, at: PCIRegister.deviceID)
        storage.bytes[PCIRegister.revisionID] = identity.revisionID
        storage.bytes[PCIRegister.progIF] = identity.progIF
        storage.bytes[PCIRegister.subclass] = identity.subclass
        storage.bytes[PCIRegister.classCode] = identity.classCode
        storage.bytes.storeLittleEndian(identity.subsystemVendorID, at: PCIRegister.subsystemVendorID)
        storage.bytes.storeLittleEndian(identity.subsystemID, at: PCIRegister.subsystemID)
        storage.bytes[PCIRegister.interruptPin] = identity.interruptPin
        storage.writable.storeLittleEndian(PCICommand.writable, at: PCIRegister.command)
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
            guard Self.space.contains(UInt64(offset), count: UInt64(length)) else { throw PCIError.capabilitySpaceFull }
            storage.bytes.replaceSubrange(offset..<offset + length, with: [id, 0] + body)
            if let writableMask {
                let mask = writableMask.prefix(body.count)
                storage.writable.replaceSubrange(offset + 2..<offset + 2 + mask.count, with: mask)
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

    /// Reads bytes at `offset`; the caller keeps the access inside one dword. Bytes outside
    /// the space read as all ones.
    public func read(offset: Int, data: UnsafeMutableRawBufferPointer) {
        guard offset >= 0, Self.space.contains(UInt64(offset), count: UInt64(data.count)) else {
            data.fillWithOnes()
            return
        }
        storage.withLock { storage in
            for index in 0..<data.count { data[index] = byte(at: offset + index, in: storage) }
        }
    }

    /// Writes bytes at `offset` through the write masks; the caller keeps the access inside one dword.
    public func write(offset: Int, data: UnsafeRawBufferPointer) {
        guard offset >= 0, !data.isEmpty, Self.space.contains(UInt64(offset), count: UInt64(data.count)) else { return }
        storage.withLock { storage in
            if Self.barRegisterRange.contains(UInt64(offset)) {
                let register = (offset - PCIRegister.bar0) / 4
                var bytes = [UInt8].littleEndian(storage.barRegisters[register])
                let first = offset & 3
                let count = min(data.count, 4 - first)
                bytes.replaceSubrange(first..<first + count, with: data.prefix(count))
                let value = bytes.loadLittleEndian(UInt32.self, at: 0) ?? 0
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
        if Self.barRegisterRange.contains(UInt64(position)) {
            let register = (position - PCIRegister.bar0) / 4
            return [UInt8].littleEndian(storage.barRegisters[register] | barTypeBits[register])[position & 3]
        }
        if Self.expansionROMRange.contains(UInt64(position)) { return 0 }
        return storage.bytes[position]
    }

    // MARK: - VMM-side helpers

    /// The register at `offset` as the guest would read it (all ones outside the space).
    public func readRegister<T: FixedWidthInteger>(_: T.Type, at offset: Int) -> T {
        var bytes = [UInt8](repeating: 0, count: MemoryLayout<T>.size)
        bytes.withUnsafeMutableBytes { read(offset: offset, data: $0) }
        return bytes.loadLittleEndian(T.self, at: 0) ?? ~0
    }

    public func readUInt16(at offset: Int) -> UInt16 { readRegister(UInt16.self, at: offset) }
    public func readUInt32(at offset: Int) -> UInt32 { readRegister(UInt32.self, at: offset) }

    public var command: UInt16 { readUInt16(at: PCIRegister.command) }

    /// Sets command bits as firmware would before handing the device to the OS.
    public func enableCommand(_ bits: UInt16) {
        storage.withLock { storage in
            let value = (storage.bytes.loadLittleEndian(UInt16.self, at: PCIRegister.command) ?? 0) | (bits & PCICommand.writable)
            storage.bytes.storeLittleEndian(value, at: PCIRegister.command)
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

    // MARK: - Snapshot

    public func saveState() -> State {
        storage.withLock { State(bytes: $0.bytes, barRegisters: $0.barRegisters) }
    }

    /// Restores the writable parts; read-only bytes must match this device exactly, so a
    /// snapshot of a different device (or a doctored one) is refused rather than half-applied.
    /// BAR addresses change here, but the bus does not follow until the owner of the root
    /// calls `PCIRoot.refreshMappings()` (or restores the root), which returns what moved.
    public func restoreState(_ state: State) throws(PCIError) {
        guard state.bytes.count == PCIConfigurationSpace.size, state.barRegisters.count == 6 else {
            throw PCIError.stateMismatch("configuration space has the wrong size")
        }
        try storage.withLock { (storage: inout Storage) throws(PCIError) in
            for position in 0..<PCIConfigurationSpace.size {
                if Self.barRegisterRange.contains(UInt64(position)) { continue }
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
    }
}
