import Synchronization

/// An address space (port I/O or MMIO) that routes each access to the device owning it.
///
/// Accesses that no device claims read as all ones and ignore writes, like an open bus,
/// so a guest probing for hardware that is not there never disturbs the VMM.
public final class Bus: Sendable {
    public struct Range: Sendable, Equatable {
        public let base: UInt64
        public let length: UInt64
        public func contains(_ address: UInt64) -> Bool { address >= base && address - base < length }
    }

    public enum Error: Swift.Error, Equatable, CustomStringConvertible {
        case overlap(base: UInt64, length: UInt64)
        case emptyRange
        public var description: String {
            switch self {
            case .overlap(let base, let length): return "bus range 0x\(String(base, radix: 16))+\(length) overlaps a device"
            case .emptyRange: return "bus range is empty or wraps"
            }
        }
    }

    private struct Entry: @unchecked Sendable {
        let range: Range
        let device: any BusDevice
    }

    private let entries = Mutex<[Entry]>([])

    public init() {}

    /// Claims `[base, base+length)` for `device`.
    public func insert(_ device: any BusDevice, base: UInt64, length: UInt64) throws {
        guard length > 0, !base.addingReportingOverflow(length - 1).overflow else { throw Error.emptyRange }
        try entries.withLock { entries in
            let lastNew = base + (length - 1)
            for entry in entries {
                let lastOld = entry.range.base + (entry.range.length - 1)
                if base <= lastOld && entry.range.base <= lastNew { throw Error.overlap(base: base, length: length) }
            }
            entries.append(Entry(range: Range(base: base, length: length), device: device))
        }
    }

    /// Releases the range that starts at `base` for `device` (a PCI BAR being moved).
    public func remove(_ device: any BusDevice, base: UInt64) {
        entries.withLock { entries in entries.removeAll { $0.device === device && $0.range.base == base } }
    }

    /// The device and offset for `address`, if claimed.
    public func resolve(_ address: UInt64) -> (device: any BusDevice, offset: UInt64)? {
        entries.withLock { entries in
            for entry in entries where entry.range.contains(address) {
                return (entry.device, address - entry.range.base)
            }
            return nil
        }
    }

    /// Routes a read; returns false (and fills all ones) when no device claims `address`.
    @discardableResult
    public func read(address: UInt64, data: UnsafeMutableRawBufferPointer) -> Bool {
        guard let (device, offset) = resolve(address) else {
            for index in data.indices { data[index] = 0xFF }
            return false
        }
        device.read(offset: offset, data: data)
        return true
    }

    /// Routes a write; returns false when no device claims `address` (the write is dropped).
    @discardableResult
    public func write(address: UInt64, data: UnsafeRawBufferPointer) -> Bool {
        guard let (device, offset) = resolve(address) else { return false }
        device.write(offset: offset, data: data)
        return true
    }
}
