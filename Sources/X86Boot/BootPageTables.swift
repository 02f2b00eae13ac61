import GuestMemory

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

    public static let cr3: UInt64 = X86Layout.pml4Address

    /// The PML4 entry 0 value; all other PML4 entries are zero.
    public static var pml4Entry: UInt64 { X86Layout.pdptAddress | present | writable }

    /// PDPT entry `index` (0..<4) pointing to its page directory.
    public static func pdptEntry(_ index: Int) -> UInt64 {
        (X86Layout.pageDirectoryAddress + UInt64(index) * 0x1000) | present | writable
    }

    /// The 2 MiB page-directory entry that maps physical `address`'s large page to itself.
    /// Pages in the MMIO hole are uncached: they are device registers, not RAM.
    public static func pageDirectoryEntry(mapping address: UInt64) -> UInt64 {
        let page = address & ~(largePageSize - 1)
        var entry = page | present | writable | largePage
        if page >= X86Layout.mmioHoleStart && page < X86Layout.mmioHoleEnd {
            entry |= cacheDisable | writeThrough
        }
        return entry
    }

    static func write(to memory: GuestMemory) throws {
        try memory.fill(0, at: X86Layout.pml4Address, count: 0x1000)
        try memory.fill(0, at: X86Layout.pdptAddress, count: 0x1000)
        try memory.write(pml4Entry, at: X86Layout.pml4Address)
        for directory in 0..<pageDirectoryCount {
            try memory.write(pdptEntry(directory), at: X86Layout.pdptAddress + UInt64(directory * 8))
            let directoryAddress = X86Layout.pageDirectoryAddress + UInt64(directory) * 0x1000
            for slot in 0..<entriesPerTable {
                let physical = UInt64(directory * entriesPerTable + slot) * largePageSize
                try memory.write(pageDirectoryEntry(mapping: physical), at: directoryAddress + UInt64(slot * 8))
            }
        }
    }
}
