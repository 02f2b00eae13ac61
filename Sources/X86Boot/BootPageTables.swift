import GuestMemory
import SwiftletCore

/// Identity page tables for the first 4 GiB with 2 MiB pages.
///
/// 4 GiB rather than the 1 GiB the protocol strictly needs, so that a guest which never
/// builds its own tables (the project's test guest) can reach PCI BARs and the LAPIC in the
/// MMIO hole as well as all of low RAM.
public enum BootPageTables {
    public static let present: UInt64 = 1 << 0
    public static let writable: UInt64 = 1 << 1
    public static let writeThrough: UInt64 = 1 << 3
    public static let cacheDisable: UInt64 = 1 << 4
    public static let largePage: UInt64 = 1 << 7

    /// Gigabytes mapped; one page directory (512 × 2 MiB) per GiB.
    public static let pageDirectoryCount = 4
    static let largePageSize: UInt64 = 0x20_0000
    static let entriesPerTable = 512

    public static let cr3: UInt64 = X86Layout.pml4Address.rawValue
    static let tableSize = 0x1000

    /// The PML4 entry 0 value; all other PML4 entries are zero.
    public static var pml4Entry: UInt64 { X86Layout.pdptAddress.rawValue | present | writable }

    /// PDPT entry `index` (0..<4) pointing to its page directory.
    public static func pdptEntry(_ index: Int) -> UInt64 {
        pageDirectoryAddress(index).rawValue | present | writable
    }

    /// The 2 MiB page-directory entry that maps physical `address`'s large page to itself.
    /// Pages in the MMIO hole are uncached: they are device registers, not RAM.
    public static func pageDirectoryEntry(mapping address: UInt64) -> UInt64 {
        let page = address & ~(largePageSize - 1)
        var entry = page | present | writable | largePage
        if X86Layout.mmioHole.contains(page) {
            entry |= cacheDisable | writeThrough
        }
        return entry
    }

    /// Page directory `index` sits right after the previous one (four pages from 0xB000).
    static func pageDirectoryAddress(_ index: Int) -> GuestAddress {
        GuestAddress(X86Layout.pageDirectoryAddress.rawValue + UInt64(index * tableSize))
    }

    /// Writes every table whole, so no stale entry survives from earlier memory contents.
    static func write(to memory: GuestMemory) throws(GuestMemoryError) {
        var pml4 = [UInt8](repeating: 0, count: tableSize)
        pml4.storeLittleEndian(pml4Entry, at: 0)
        try memory.write(bytes: pml4, at: X86Layout.pml4Address)
        var pdpt = [UInt8](repeating: 0, count: tableSize)
        for directory in 0..<pageDirectoryCount {
            pdpt.storeLittleEndian(pdptEntry(directory), at: directory * 8)
            var entries: [UInt8] = []
            entries.reserveCapacity(tableSize)
            for slot in 0..<entriesPerTable {
                entries.appendLittleEndian(pageDirectoryEntry(mapping: UInt64(directory * entriesPerTable + slot) * largePageSize))
            }
            try memory.write(bytes: entries, at: pageDirectoryAddress(directory))
        }
        try memory.write(bytes: pdpt, at: X86Layout.pdptAddress)
    }
}
