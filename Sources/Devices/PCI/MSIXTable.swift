import SwiftletCore
import Synchronization

/// MSI-X state of one function: the vector table and pending-bit array (both live in a BAR)
/// plus the enable and function-mask bits of the capability's message control.
///
/// A vector fired while masked (per entry or for the whole function) sets its pending bit
/// and goes out when it is unmasked, as PCI requires; Linux masks vectors while it
/// reprograms them and would otherwise lose completions.
public final class MSIXTable: Sendable {
    public static let entrySize = 16
    /// "No vector" as virtio uses it.
    public static let noVector: UInt16 = 0xFFFF

    public struct State: Codable, Sendable, Equatable {
        public var table: [UInt8]
        public var pending: [Bool]
    }

    private struct Storage {
        var table: [UInt8]
        var pending: [Bool]
        var enabled = false
        var functionMasked = false
    }

    public let vectorCount: Int
    private let sender: any MSISender
    private let storage: Mutex<Storage>

    /// `vectorCount` is the VMM's choice (1...2048), not guest input.
    public init(vectorCount: Int, sender: any MSISender) {
        precondition(vectorCount >= 1 && vectorCount <= 2048, "MSI-X supports 1...2048 vectors")
        self.vectorCount = vectorCount
        self.sender = sender
        storage = Mutex(Storage(table: MSIXTable.resetTable(vectorCount), pending: Array(repeating: false, count: vectorCount)))
    }

    /// Offsets inside one table entry.
    private enum Entry {
        static let messageAddress = 0
        static let messageData = 8
        static let vectorControl = 12
    }

    private static func resetTable(_ count: Int) -> [UInt8] {
        var table = [UInt8](repeating: 0, count: count * entrySize)
        for vector in 0..<count { table[vector * entrySize + Entry.vectorControl] = 1 }  // every entry starts masked
        return table
    }

    public var tableSize: Int { vectorCount * MSIXTable.entrySize }
    public var pbaSize: Int { (vectorCount + 63) / 64 * 8 }

    /// The capability body (after ID and next) and its write mask: message control with only
    /// enable (bit 15) and function mask (bit 14) writable, then table and PBA locations.
    public func capability(tableBAR: Int, tableOffset: UInt32, pbaBAR: Int, pbaOffset: UInt32) -> (body: [UInt8], writableMask: [UInt8]) {
        var body: [UInt8] = []
        body.appendLittleEndian(UInt16(vectorCount - 1))
        body.appendLittleEndian(tableOffset | UInt32(tableBAR & 7))
        body.appendLittleEndian(pbaOffset | UInt32(pbaBAR & 7))
        var mask = [UInt8](repeating: 0, count: body.count)
        mask[1] = 0xC0
        return (body, mask)
    }

    public var isEnabled: Bool { storage.withLock { $0.enabled } }
    public var isFunctionMasked: Bool { storage.withLock { $0.functionMasked } }

    /// Applies the capability's message-control word after a config write; unmasking
    /// delivers what is pending.
    public func setMessageControl(_ control: UInt16) {
        let messages = storage.withLock { storage in
            storage.enabled = control & 0x8000 != 0
            storage.functionMasked = control & 0x4000 != 0
            return Self.collectDeliverable(&storage)
        }
        send(messages)
    }

    /// Fires `vector`; returns whether a message went out (false when masked, disabled or invalid).
    @discardableResult
    public func signal(vector: UInt16) -> Bool {
        let message: (UInt64, UInt32)? = storage.withLock { storage in
            let index = Int(vector)
            guard index < vectorCount, storage.enabled else { return nil }
            if storage.functionMasked || Self.entryMasked(index, storage) {
                storage.pending[index] = true
                return nil
            }
            return Self.message(index, storage)
        }
        guard let message else { return false }
        sender.signalMSI(address: message.0, data: message.1)
        return true
    }

    public func isPending(_ vector: Int) -> Bool {
        storage.withLock { vector >= 0 && vector < vectorCount && $0.pending[vector] }
    }

    // MARK: - BAR access

    private var tableRange: AddressRange { AddressRange(start: 0, length: UInt64(tableSize))! }
    private var pbaRange: AddressRange { AddressRange(start: 0, length: UInt64(pbaSize))! }

    /// Reads table bytes; an access not wholly inside the table reads zero.
    public func readTable(offset: UInt64, data: UnsafeMutableRawBufferPointer) {
        guard tableRange.contains(offset, count: UInt64(data.count)) else { return data.fillWithZeros() }
        storage.withLock { storage in
            data.copyBytes(from: storage.table[Int(offset)..<Int(offset) + data.count])
        }
    }

    /// Any width is accepted; only the mask bit of vector control is writable there. An
    /// access not wholly inside the table is dropped.
    public func writeTable(offset: UInt64, data: UnsafeRawBufferPointer) {
        guard tableRange.contains(offset, count: UInt64(data.count)) else { return }
        let messages = storage.withLock { storage in
            for (index, byte) in data.enumerated() {
                let slot = Int(offset) + index
                switch slot % MSIXTable.entrySize {
                case Entry.vectorControl: storage.table[slot] = byte & 1
                case Entry.vectorControl + 1...MSIXTable.entrySize - 1: continue
                default: storage.table[slot] = byte
                }
            }
            return Self.collectDeliverable(&storage)
        }
        send(messages)
    }

    /// The PBA is read-only; bits past the last vector read zero.
    public func readPBA(offset: UInt64, data: UnsafeMutableRawBufferPointer) {
        guard pbaRange.contains(offset, count: UInt64(data.count)) else { return data.fillWithZeros() }
        storage.withLock { storage in
            for index in 0..<data.count {
                let bitBase = (Int(offset) + index) * 8
                var byte: UInt8 = 0
                for bit in 0..<8 where bitBase + bit < vectorCount && storage.pending[bitBase + bit] { byte |= 1 << UInt8(bit) }
                data[index] = byte
            }
        }
    }

    // MARK: - Helpers

    private static func entryMasked(_ index: Int, _ storage: Storage) -> Bool {
        storage.table[index * entrySize + Entry.vectorControl] & 1 != 0
    }

    private static func message(_ index: Int, _ storage: Storage) -> (UInt64, UInt32) {
        let base = index * entrySize
        let address = storage.table.loadLittleEndian(UInt64.self, at: base + Entry.messageAddress) ?? 0
        let data = storage.table.loadLittleEndian(UInt32.self, at: base + Entry.messageData) ?? 0
        return (address, data)
    }

    private static func collectDeliverable(_ storage: inout Storage) -> [(UInt64, UInt32)] {
        guard storage.enabled, !storage.functionMasked else { return [] }
        var messages: [(UInt64, UInt32)] = []
        for index in storage.pending.indices where storage.pending[index] && !entryMasked(index, storage) {
            storage.pending[index] = false
            messages.append(message(index, storage))
        }
        return messages
    }

    private func send(_ messages: [(UInt64, UInt32)]) {
        for (address, data) in messages { sender.signalMSI(address: address, data: data) }
    }

    // MARK: - Snapshot

    /// Enable and function mask are not here: they live in configuration space, and the
    /// owner re-applies them with `setMessageControl` after restoring it.
    public func saveState() -> State {
        storage.withLock { State(table: $0.table, pending: $0.pending) }
    }

    public func restoreState(_ state: State) throws(PCIError) {
        guard state.table.count == tableSize, state.pending.count == vectorCount else {
            throw .stateMismatch("MSI-X table has \(state.pending.count) vectors, device has \(vectorCount)")
        }
        storage.withLock { storage in
            storage.table = state.table
            for vector in 0..<vectorCount {
                let control = vector * MSIXTable.entrySize + Entry.vectorControl
                storage.table[control] &= 1
                for reserved in 1...3 { storage.table[control + reserved] = 0 }
            }
            storage.pending = state.pending
        }
    }
}
