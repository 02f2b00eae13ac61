import Atomics
import SwiftletCore
import Synchronization

/// An address space (port I/O or MMIO) that routes each access to the device owning it.
///
/// Accesses that no device claims read as all ones and ignore writes, like an open bus,
/// so a guest probing for hardware that is not there never disturbs the VMM. An access that
/// starts inside a device's range but runs past its end is treated the same way, before the
/// device sees it: a device only ever gets accesses that lie wholly inside its range, so it
/// never has to re-check the width against its own length.
///
/// Every vCPU exit that is port I/O or MMIO comes through here, so routing takes no lock:
/// the ranges live in an immutable `Table`, sorted by start and searched by bisection, and
/// `insert` and `remove` (at build time, and when the guest moves a PCI BAR) publish a new
/// table in one atomic exchange. The reference is a `ManagedAtomic` (swift-atomics), whose
/// load hands out a strong reference even while another thread replaces the table, so a
/// reader never sees a table freed under it and a replaced table is freed once its last
/// reader lets go. An access concurrent with an insert or remove is routed by the table
/// before or after it, never by a mixture; one that starts after either returned sees it.
///
/// vCPUs route through a `Reader` each, which keeps the table it last loaded and reloads it
/// only after a change: `ManagedAtomic`'s load writes a reader count in the bus, and every
/// vCPU writing that one cache line on every exit would make them contend as a lock did.
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

    struct Entry: Sendable {
        let range: AddressRange
        let device: any BusDevice
    }

    /// One published state of the bus: non-empty, non-overlapping ranges sorted by start.
    /// Never changed once built; a change builds a new one.
    final class Table: AtomicReference, Sendable {
        let entries: [Entry]

        init(entries: [Entry]) {
            self.entries = entries
        }

        /// The entry whose range holds `address`: the last one starting at or below it, if
        /// that one reaches it (the ranges are disjoint, so no earlier one can).
        func entry(containing address: UInt64) -> Entry? {
            let above = entries.partitioningIndex { $0.range.start > address }
            guard above > 0, entries[above - 1].range.contains(address) else { return nil }
            return entries[above - 1]
        }

        /// This table with `range` claimed for `device`, or nil when it overlaps a range.
        func inserting(_ device: any BusDevice, range: AddressRange) -> Table? {
            // Only the neighbours in start order can overlap a range that fits between them.
            let index = entries.partitioningIndex { $0.range.start > range.start }
            if index > 0, entries[index - 1].range.overlaps(range) { return nil }
            if index < entries.count, entries[index].range.overlaps(range) { return nil }
            var entries = entries
            entries.insert(Entry(range: range, device: device), at: index)
            return Table(entries: entries)
        }
    }

    private let table = ManagedAtomic(Table(entries: []))
    /// Counts the tables published, each counted after it is in `table`: a `Reader` that sees
    /// a count it has not seen loads the table again, and gets that one or a newer one.
    private let generation = Atomic<UInt64>(0)

    public init() {}

    /// Claims `range` for `device`.
    public func insert(_ device: any BusDevice, range: AddressRange) throws(Error) {
        guard !range.isEmpty else { throw .emptyRange }
        try update { (current: Table) throws(Error) -> Table in
            guard let next = current.inserting(device, range: range) else { throw .overlap(range) }
            return next
        }
    }

    /// Claims `[base, base + length)` for `device`; a range that would wrap is refused as empty.
    public func insert(_ device: any BusDevice, base: UInt64, length: UInt64) throws(Error) {
        guard let range = AddressRange(start: base, length: length) else { throw .emptyRange }
        try insert(device, range: range)
    }

    /// Releases the range that starts at `base` for `device` (a PCI BAR being moved).
    public func remove(_ device: any BusDevice, base: UInt64) {
        update { current in
            Table(entries: current.entries.filter { !($0.device === device && $0.range.start == base) })
        }
    }

    /// Replaces the table with `change(current)`; if another insert or remove published first,
    /// applies `change` again to what that one published, so no change is ever lost.
    private func update<E: Swift.Error>(_ change: (Table) throws(E) -> Table) throws(E) {
        var current = table.load(ordering: .acquiring)
        while true {
            let next = try change(current)
            let (exchanged, original) = table.compareExchange(expected: current, desired: next, ordering: .acquiringAndReleasing)
            if exchanged {
                generation.wrappingAdd(1, ordering: .releasing)
                return
            }
            current = original
        }
    }

    /// The device and offset for an access of `count` bytes at `address`, if one device's
    /// range holds all of it.
    public func resolve(_ address: UInt64, count: Int) -> (device: any BusDevice, offset: UInt64)? {
        table.load(ordering: .acquiring).resolve(address, count: count)
    }

    /// The claimed ranges in address order, as one published table has them.
    var ranges: [AddressRange] { table.load(ordering: .acquiring).entries.map(\.range) }

    /// Routes a read; returns false (and fills all ones) when no device claims the access.
    @discardableResult
    public func read(address: UInt64, data: UnsafeMutableRawBufferPointer) -> Bool {
        table.load(ordering: .acquiring).read(address: address, data: data)
    }

    /// Routes a write; returns false when no device claims the access (the write is dropped).
    @discardableResult
    public func write(address: UInt64, data: UnsafeRawBufferPointer) -> Bool {
        table.load(ordering: .acquiring).write(address: address, data: data)
    }

    /// A view of this bus for one vCPU thread.
    public func reader() -> Reader { Reader(bus: self) }

    /// Routes like the bus's own `read` and `write`, through the table it last loaded. The
    /// common access costs one atomic load of the bus's table count and writes nothing all
    /// vCPUs share, not even the table's reference count. It holds that table, so the table
    /// stays alive while in use; a table the bus replaced is freed at the reader's next access
    /// (or when the reader goes).
    ///
    /// - Note: `@unchecked Sendable` because the cached table is unsynchronized: a reader is
    ///   used by one thread at a time (each vCPU has its own, used on the vCPU's thread).
    public final class Reader: @unchecked Sendable {
        private let bus: Bus
        /// The table, owned: what keeps `borrowed` alive.
        private var table: Table
        /// `table` again, for the accesses, which borrow it rather than retain it (a retain
        /// would write its count, a cache line all the vCPUs' readers share). Safe because
        /// only `refresh`, on the reader's own thread and never during a device call (a
        /// device only ever has the bus, not a reader), replaces `table`.
        private var borrowed: Unmanaged<Table>
        private var seen: UInt64

        fileprivate init(bus: Bus) {
            self.bus = bus
            // The count first: a table loaded after it is at least as new as the count says.
            seen = bus.generation.load(ordering: .acquiring)
            table = bus.table.load(ordering: .acquiring)
            borrowed = Unmanaged.passUnretained(table)
        }

        private func refresh() {
            let latest = bus.generation.load(ordering: .acquiring)
            guard latest != seen else { return }
            seen = latest
            table = bus.table.load(ordering: .acquiring)
            borrowed = Unmanaged.passUnretained(table)
        }

        /// As `Bus.read`.
        @discardableResult
        public func read(address: UInt64, data: UnsafeMutableRawBufferPointer) -> Bool {
            refresh()
            return borrowed._withUnsafeGuaranteedRef { $0.read(address: address, data: data) }
        }

        /// As `Bus.write`.
        @discardableResult
        public func write(address: UInt64, data: UnsafeRawBufferPointer) -> Bool {
            refresh()
            return borrowed._withUnsafeGuaranteedRef { $0.write(address: address, data: data) }
        }
    }
}

extension Bus.Table {
    func resolve(_ address: UInt64, count: Int) -> (device: any BusDevice, offset: UInt64)? {
        guard let entry = entry(containing: address), let offset = entry.range.offset(of: address, count: UInt64(count)) else { return nil }
        return (entry.device, offset)
    }

    func read(address: UInt64, data: UnsafeMutableRawBufferPointer) -> Bool {
        guard let (device, offset) = resolve(address, count: data.count) else {
            data.fillWithOnes()
            return false
        }
        device.read(offset: offset, data: data)
        return true
    }

    func write(address: UInt64, data: UnsafeRawBufferPointer) -> Bool {
        guard let (device, offset) = resolve(address, count: data.count) else { return false }
        device.write(offset: offset, data: data)
        return true
    }
}

extension Array {
    /// The first index whose element satisfies `isAbove`, for a predicate that is false for
    /// a prefix of the array and true for the rest (`endIndex` if it is never true).
    fileprivate func partitioningIndex(where isAbove: (Element) -> Bool) -> Int {
        var low = 0, high = count
        while low < high {
            let middle = low + (high - low) / 2
            if isAbove(self[middle]) { high = middle } else { low = middle + 1 }
        }
        return low
    }
}
