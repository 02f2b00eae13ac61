import SwiftletCore
import Synchronization

/// Configuration mechanism #1: the address latch at 0xCF8 and the data window at 0xCFC–0xCFF.
///
/// Insert it into the port bus at `ports`. Only bus 0, function 0 exists; anything else, a
/// disabled latch, or an access that crosses a dword reads all ones and drops writes, which
/// is how Linux learns a device is absent. A data write that moves BARs hands the moves to
/// `mappingSink` before it returns.
public final class PCIConfigIO: BusDevice, RestorableInPlace {
    public static let ports = AddressRange(start: 0xCF8, length: 8)!
    /// The address latch, then the data window, as offsets into `ports`.
    static let latch = AddressRange(start: 0, length: 4)!
    static let dataWindow = AddressRange(start: 4, length: 4)!

    public struct State: Codable, Sendable, Equatable {
        public var address: UInt32
    }

    private let root: PCIRoot
    private let mappingSink: (any PCIMappingSink)?
    /// The latch: one word, so an atomic rather than a lock (two exits per configuration
    /// access go through here). Each access reads or replaces it whole, as under a lock.
    private let address = Atomic<UInt32>(0)

    public init(root: PCIRoot, mappingSink: (any PCIMappingSink)? = nil) {
        self.root = root
        self.mappingSink = mappingSink
    }

    public func read(offset: UInt64, data: UnsafeMutableRawBufferPointer) {
        if Self.latch.contains(offset, count: UInt64(data.count)) {
            // The latch reads back as written, at any width (Linux's type-1 probe relies on it).
            data.storeLittleEndian(UInt64(address.load(ordering: .relaxed)) >> (offset * 8))
        } else if let target = target(offset: offset, count: data.count) {
            root.readConfig(slot: target.slot, offset: target.offset, data: data)
        } else {
            data.fillWithOnes()
        }
    }

    public func write(offset: UInt64, data: UnsafeRawBufferPointer) {
        if Self.latch.contains(offset, count: UInt64(data.count)) {
            // The written bytes replace theirs and keep the others (the latch holds the
            // access, so offset + count ≤ 4). Arithmetic, not a byte array: no allocation.
            let shift = offset * 8
            let mask = UInt32(truncatingIfNeeded: ((UInt64(1) << (UInt64(data.count) * 8)) - 1) << shift)
            let bits = UInt32(truncatingIfNeeded: data.littleEndianValue << shift) & mask
            var latch = address.load(ordering: .relaxed)
            while true {
                let (exchanged, current) = address.weakCompareExchange(
                    expected: latch, desired: (latch & ~mask) | bits, ordering: .relaxed)
                if exchanged { break }
                latch = current
            }
        } else if let target = target(offset: offset, count: data.count) {
            let moved = root.writeConfig(slot: target.slot, offset: target.offset, data: data)
            if !moved.isEmpty { mappingSink?.barMappingsChanged(moved) }
        }
    }

    /// Decodes the latch for a data-window access; nil when it addresses nothing.
    private func target(offset: UInt64, count: Int) -> (slot: Int, offset: Int)? {
        guard count > 0, let within = Self.dataWindow.offset(of: offset, count: UInt64(count)) else { return nil }
        let latch = address.load(ordering: .relaxed)
        guard latch & 0x8000_0000 != 0 else { return nil }
        let bus = (latch >> 16) & 0xFF
        let function = (latch >> 8) & 0x7
        let reserved = (latch >> 24) & 0x7F  // AMD extended-register bits: no extended space here
        guard bus == 0, function == 0, reserved == 0 else { return nil }
        let slot = Int((latch >> 11) & 0x1F)
        return (slot, Int(latch & 0xFC) + Int(within))
    }

    public func saveState() -> State { State(address: address.load(ordering: .relaxed)) }

    public func restoreState(_ state: State) {
        address.store(state.address, ordering: .relaxed)
    }
}
