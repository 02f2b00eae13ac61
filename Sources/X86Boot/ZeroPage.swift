import SwiftletCore

/// Offsets into `struct boot_params` (the "zero page") and its embedded `setup_header`,
/// from Linux's Documentation/arch/x86/zero-page.rst and boot.rst.
enum ZeroPage {
    static let size = 0x1000

    /// `acpi_rsdp_addr` (u64): where the RSDP is, so Linux need not scan for it.
    static let acpiRSDPAddr: UInt64 = 0x070
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
    var initrd: AddressRange?
    var e820: [E820Entry]
    /// The RSDP's address, if the machine has ACPI tables.
    var acpiRSDPAddress: GuestAddress? = nil
}

extension ZeroPage {
    /// The whole zero page: the setup header (copied from a bzImage, or synthesised for an ELF
    /// kernel, which has none), then the fields a boot loader owns. Built on the host and
    /// written in one piece, so no stale byte of guest memory survives in it.
    static func contents(setupHeader: ArraySlice<UInt8>?, _ contents: ZeroPageContents) -> [UInt8] {
        var page = [UInt8](repeating: 0, count: size)
        if let setupHeader {
            page.replaceSubrange(Int(setupHeaderStart)..<(Int(setupHeaderStart) + setupHeader.count), with: setupHeader)
        } else {
            page.set(headerMagic, at: header)
            page.set(ElfKernel.syntheticProtocolVersion, at: version)
            page.set(loadedHigh, at: loadflags)
            page.set(UInt32(X86Layout.highMemoryStart.rawValue), at: code32Start)
            page.set(ElfKernel.syntheticKernelAlignment, at: kernelAlignment)
            page.set(ElfKernel.syntheticCommandLineSize, at: cmdlineSize)
            page.set(ElfKernel.syntheticInitrdAddressMax, at: initrdAddrMax)
        }
        page.set(loaderTypeUndefined, at: typeOfLoader)
        // The header's own loadflags are kept; the loader only adds CAN_USE_HEAP.
        page.set(page[Int(loadflags)] | canUseHeap, at: loadflags)
        page.set(heapEnd, at: heapEndPtr)
        page.set(bootFlagValue, at: bootFlag)
        page.set(UInt32(X86Layout.commandLine.start), at: cmdLinePtr)
        page.set(UInt32(0), at: extCmdLinePtr)
        // Initrds are always placed below 4 GiB, so the ext_ fields stay zero.
        page.set(UInt32(truncatingIfNeeded: contents.initrd?.start ?? 0), at: ramdiskImage)
        page.set(UInt32(truncatingIfNeeded: contents.initrd?.length ?? 0), at: ramdiskSize)
        page.set(UInt32(0), at: extRamdiskImage)
        page.set(UInt32(0), at: extRamdiskSize)
        page.set(contents.acpiRSDPAddress?.rawValue ?? 0, at: acpiRSDPAddr)
        let e820 = contents.e820.prefix(E820Entry.maxEntries)
        page.set(UInt8(e820.count), at: e820Entries)
        for (index, entry) in e820.enumerated() {
            let slot = e820Table + UInt64(index) * e820EntrySize
            page.set(entry.address, at: slot)
            page.set(entry.size, at: slot + 8)
            page.set(entry.type, at: slot + 16)
        }
        return page
    }
}

extension [UInt8] {
    /// Stores a zero-page field; every offset is a constant inside the page.
    fileprivate mutating func set<T: FixedWidthInteger>(_ value: T, at offset: UInt64) {
        storeLittleEndian(value, at: Int(offset))
    }
}
