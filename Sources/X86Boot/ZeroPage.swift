import GuestMemory

/// Offsets into `struct boot_params` (the "zero page") and its embedded `setup_header`,
/// from Linux's Documentation/arch/x86/zero-page.rst and boot.rst.
enum ZeroPage {
    static let size = 0x1000

    static let extRamdiskImage: UInt64 = 0x0C0
    static let extRamdiskSize: UInt64 = 0x0C4
    static let extCmdLinePtr: UInt64 = 0x0C8
    static let e820Entries: UInt64 = 0x1E8
    static let e820Table: UInt64 = 0x2D0
    static let e820EntrySize: UInt64 = 20

    // setup_header
    static let setupHeaderStart: UInt64 = 0x1F1
    /// `struct boot_params` pads the setup header out to here.
    static let setupHeaderLimit: UInt64 = 0x290
    static let setupSects: UInt64 = 0x1F1
    static let bootFlag: UInt64 = 0x1FE
    static let jump: UInt64 = 0x200
    static let header: UInt64 = 0x202
    static let version: UInt64 = 0x206
    static let typeOfLoader: UInt64 = 0x210
    static let loadflags: UInt64 = 0x211
    static let code32Start: UInt64 = 0x214
    static let ramdiskImage: UInt64 = 0x218
    static let ramdiskSize: UInt64 = 0x21C
    static let heapEndPtr: UInt64 = 0x224
    static let cmdLinePtr: UInt64 = 0x228
    static let initrdAddrMax: UInt64 = 0x22C
    static let kernelAlignment: UInt64 = 0x230
    static let relocatableKernel: UInt64 = 0x234
    static let xloadflags: UInt64 = 0x236
    static let cmdlineSize: UInt64 = 0x238
    static let prefAddress: UInt64 = 0x258
    static let initSize: UInt64 = 0x260

    static let headerMagic: UInt32 = 0x5372_6448  // "HdrS"
    static let bootFlagValue: UInt16 = 0xAA55
    /// "Undefined" boot loader ID: we have none registered.
    static let loaderTypeUndefined: UInt8 = 0xFF
    static let loadedHigh: UInt8 = 0x01
    static let canUseHeap: UInt8 = 0x80
    static let heapEnd: UInt16 = 0xFE00
    static let xlfKernel64: UInt16 = 0x01
}

/// What the zero page says about the command line, initrd and memory, beyond the header.
struct ZeroPageContents {
    var initrd: Range<UInt64>?
    var e820: [E820Entry]
}

extension ZeroPage {
    /// Fills in the fields a boot loader owns. The page must already hold the setup header
    /// (copied from a bzImage or synthesised for an ELF kernel), because `loadflags` is
    /// updated rather than replaced.
    static func writeLoaderFields(_ contents: ZeroPageContents, to memory: GuestMemory) throws {
        let base = X86Layout.zeroPageAddress
        try memory.write(loaderTypeUndefined, at: base + typeOfLoader)
        let flags: UInt8 = try memory.read(at: base + loadflags)
        try memory.write(flags | canUseHeap, at: base + loadflags)
        try memory.write(heapEnd, at: base + heapEndPtr)
        try memory.write(bootFlagValue, at: base + bootFlag)
        try memory.write(UInt32(X86Layout.commandLineAddress), at: base + cmdLinePtr)
        try memory.write(UInt32(0), at: base + extCmdLinePtr)
        let initrd = contents.initrd ?? 0..<0
        // Initrds are always placed below 4 GiB, so the ext_ fields stay zero.
        try memory.write(UInt32(truncatingIfNeeded: initrd.lowerBound), at: base + ramdiskImage)
        try memory.write(UInt32(truncatingIfNeeded: initrd.count), at: base + ramdiskSize)
        try memory.write(UInt32(0), at: base + extRamdiskImage)
        try memory.write(UInt32(0), at: base + extRamdiskSize)
        let e820 = contents.e820.prefix(E820Entry.maxEntries)
        try memory.write(UInt8(e820.count), at: base + e820Entries)
        for (index, entry) in e820.enumerated() {
            let slot = base + e820Table + UInt64(index) * e820EntrySize
            try memory.write(entry.address, at: slot)
            try memory.write(entry.size, at: slot + 8)
            try memory.write(entry.type, at: slot + 16)
        }
    }
}
