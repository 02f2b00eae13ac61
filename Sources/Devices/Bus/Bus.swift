import SwiftletCore
import Synchronization

/// An address space (port I/O or MMIO) that routes each access to the device owning it.
///
/// Accesses that no device claims read as all ones and ignore writes, like an open bus,
/// so a guest probing for hardware that is not there never disturbs the VMM. An access that
/// starts inside a device's range but runs past its end is treated the same way, before the
/// device sees it: a device only ever gets accesses that lie wholly inside its range, so it
/// never has to re-check the width against its own length.
public final class Bus: Sendable {
    public enum Error: Swift.Error, Equatable, CustomStringConvertible {
        case overlap(AddressRange)
        case emptyRange
        public var description: String {
            switch self {
            case .overlap(let range): return "bus range \(range) overlaps a device"
            case .emptyRange: return "bus range is empty"
            }
        }
    }

    private struct Entry: @unchecked Sendable {
        let range: AddressRange
        let device: any BusDevice
    }

    private let entries = Mutex<[Entry]>([])

    public init() {}

    /// Claims `range` for `device`.
    public func insert(_ device: any BusDevice, range: AddressRange) throws(Error) {
        guard !range.isEmpty else { throw .emptyRange }
        try entries.withLock { (entries: inout [Entry]) throws(Error) in
            guard !entries.contains(where: { $0.range.overlaps(range) }) else { throw .overlap(range) }
            entries.append(Entry(range: range, device: device))
        }
    }

    /// Claims `[base, base + length)` for `device`; a range that would wrap is refused as empty.
    public func insert(_ device: any BusDevice, base: UInt64, length: UInt64) throws(Error) {
        guard let range = AddressRange(start: base, length: length) else { throw .emptyRange }
        try insert(device, range: range)
    }

    /// Releases the range that starts at `base` for `device` (a PCI BAR being moved).
    public func remove(_ device: any BusDevice, base: UInt64) {
        entries.withLock { entries in entries.removeAll { $0.device === device && $0.range.start == base } }
    }

    /// The device and offset for an access of `count` bytes at `address`, if one device's
    /// range holds all of it.
    public func resolve(_ address: UInt64, count: Int) -> (device: any BusDevice, offset: UInt64)? {
        entries.withLock { entries in
            for entry in entries where entry.range.contains(address) {
                guard let offset = entry.range.offset(of: address, count: UInt64(count)) else { return nil }
                return (entry.device, offset)
            }
            return nil
        }
    }

    /// Routes a read; returns false (and fills all ones) when no device claims the access.
    @discardableResult
    public func read(address: UInt64, data: UnsafeMutableRawBufferPointer) -> Bool {
        guard let (device, offset) = resolve(address, count: data.count) else {
            data.fillWithOnes()
            return false
        }
        device.read(offset: offset, data: data)
        return true
    }

    /// Routes a write; returns false when no device claims the access (the write is dropped).
    @discardableResult
    public func write(address: UInt64, data: UnsafeRawBufferPointer) -> Bool {
        guard let (device, offset) = resolve(address, count: data.count) else { return false }
        device.write(offset: offset, data: data)
        return true
    }
}
