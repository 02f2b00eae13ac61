import SwiftletCore

/// One entry of the BIOS e820 memory map handed to Linux in the zero page.
public struct E820Entry: Sendable, Equatable {
    public static let ram: UInt32 = 1
    public static let reserved: UInt32 = 2
    /// The zero page's `e820_table` has room for this many entries.
    public static let maxEntries = 128

    public var address: UInt64
    public var size: UInt64
    public var type: UInt32

    public init(address: UInt64, size: UInt64, type: UInt32) {
        self.address = address
        self.size = size
        self.type = type
    }

    /// The map for the given RAM regions: RAM everywhere except [0x9FC00, 1 MiB), which is
    /// reported reserved as on a PC (EBDA and ROM area), so Linux keeps its hands off it.
    public static func map(for regions: [AddressRange]) -> [E820Entry] {
        let reservedStart = X86Layout.biosReservedArea.start
        let reservedEnd = X86Layout.highMemoryStart.rawValue
        var entries: [E820Entry] = []
        var reservedEmitted = false
        for region in regions.sorted(by: { $0.start < $1.start }) {
            // A region that reaches the top of the address space is not RAM Linux could use.
            guard let end = region.end, end > region.start else { continue }
            let start = region.start
            if start < reservedStart {
                entries.append(E820Entry(address: start, size: min(end, reservedStart) - start, type: ram))
            }
            if !reservedEmitted && end > reservedStart {
                entries.append(E820Entry(address: reservedStart, size: reservedEnd - reservedStart, type: reserved))
                reservedEmitted = true
            }
            if end > reservedEnd {
                let highStart = max(start, reservedEnd)
                entries.append(E820Entry(address: highStart, size: end - highStart, type: ram))
            }
        }
        if !reservedEmitted {
            entries.append(E820Entry(address: reservedStart, size: reservedEnd - reservedStart, type: reserved))
            entries.sort { $0.address < $1.address }
        }
        return Array(entries.prefix(maxEntries))
    }
}
