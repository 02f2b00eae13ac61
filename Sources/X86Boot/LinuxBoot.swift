import GuestMemory
import SwiftletCore

/// Direct boot of a Linux kernel (or any guest following its 64-bit boot protocol): the VMM
/// does what a boot loader and the real-mode setup code would, and enters the kernel in long
/// mode.
public enum LinuxBoot {
    static let pageSize: UInt64 = 0x1000

    /// Parses the image (bzImage or ELF64 vmlinux), loads it, the initrd and the command line
    /// into guest memory, writes the zero page (boot_params) with an e820 map built from
    /// memory.regions, the GDT, an IDT placeholder and identity page tables, the firmware
    /// tables if given (with the RSDP's address in `boot_params.acpi_rsdp_addr`), and returns
    /// the CPU state to enter with. Never traps on any input bytes.
    public static func prepare(
        memory: GuestMemory, kernel: [UInt8], initrd: [UInt8]?, commandLine: String, firmware: BootFirmware? = nil
    ) throws(KernelImageError) -> LinuxBootResult {
        // Everything is checked before the first byte is written, so a refused image leaves
        // guest memory untouched.
        let image = try KernelImage.parse(kernel)
        let lowRAMEnd = lowMemoryEnd(of: memory)
        try checkPlacement(of: image, in: memory, lowRAMEnd: lowRAMEnd)
        let commandLineBytes = try commandLineBytes(commandLine, limit: image.commandLineLimit)
        let initrdBytes = initrd.flatMap { $0.isEmpty ? nil : $0 }
        let initrdRange = try initrdBytes.map { bytes throws(KernelImageError) in
            try placeInitrd(size: UInt64(bytes.count), above: image.footprintEnd, limit: image.initrdAddressMax, lowRAMEnd: lowRAMEnd)
        }
        let zeroPage = ZeroPage.contents(
            setupHeader: image.setupHeader,
            ZeroPageContents(initrd: initrdRange, e820: E820Entry.map(for: memory.layout), acpiRSDPAddress: firmware?.acpiRSDPAddress))

        do {
            try memory.write(bytes: zeroPage, at: X86Layout.zeroPageAddress)
            try BootGDT.write(to: memory)
            try BootPageTables.write(to: memory)
            try memory.write(bytes: commandLineBytes + [0], at: GuestAddress(X86Layout.commandLine.start))
            for region in firmware?.regions ?? [] { try memory.write(bytes: region.bytes, at: region.address) }
            for segment in image.segments { try load(segment, into: memory) }
            if let initrdBytes, let initrdRange {
                try memory.write(bytes: initrdBytes, at: GuestAddress(initrdRange.start))
            }
        } catch {
            throw .loadFailed(error)
        }
        return LinuxBootResult(format: image.format, cpu: BootCPUState(entry: image.entry), kernelEnd: image.footprintEnd, initrdRange: initrdRange)
    }

    /// Copies a segment's file bytes and zeroes the rest of its memory size (an ELF bss).
    static func load(_ segment: KernelImage.Segment, into memory: GuestMemory) throws(GuestMemoryError) {
        try memory.write(bytes: segment.fileBytes, at: segment.guestAddress)
        let fileSize = UInt64(segment.fileBytes.count)
        let tail = segment.memorySize - fileSize
        guard tail > 0 else { return }
        guard let tailStart = segment.guestAddress.adding(fileSize), let tailCount = Int(exactly: tail) else {
            throw .outOfBounds(address: segment.guestAddress, length: segment.memorySize)
        }
        try memory.fill(0, at: tailStart, count: tailCount)
    }

    /// The end of the RAM region holding the kernel load address: kernel, decompressor and
    /// initrd must all live there (it is the region below the MMIO hole).
    static func lowMemoryEnd(of memory: GuestMemory) -> UInt64 {
        memory.regions.first { $0.range.contains(X86Layout.highMemoryStart.rawValue) }?.range.end ?? 0
    }

    static func checkPlacement(of image: KernelImage, in memory: GuestMemory, lowRAMEnd: UInt64) throws(KernelImageError) {
        for segment in image.segments {
            guard segment.guestAddress >= X86Layout.highMemoryStart else {
                throw .segmentOverlapsBootStructures(index: segment.index, address: segment.guestAddress.rawValue)
            }
            guard memory.contains(segment.guestAddress, length: segment.memorySize) else {
                throw .segmentOutsideRAM(index: segment.index, address: segment.guestAddress.rawValue, size: segment.memorySize)
            }
        }
        if case .bzImage = image.format, image.footprintEnd > lowRAMEnd {
            throw .kernelDoesNotFit(end: image.footprintEnd, ramEnd: lowRAMEnd)
        }
    }

    /// The command line's bytes, refused if the kernel or our 64 KiB area (which also holds
    /// the terminating NUL) could not take all of it: a silently cut command line boots the
    /// wrong thing.
    static func commandLineBytes(_ commandLine: String, limit kernelLimit: UInt64) throws(KernelImageError) -> [UInt8] {
        let bytes = Array(commandLine.utf8)
        let limit = Int(min(kernelLimit, X86Layout.commandLine.length - 1))
        guard bytes.count <= limit else { throw .commandLineTooLong(length: bytes.count, limit: limit) }
        return bytes
    }

    /// Puts the initrd as high as allowed, as boot loaders do, so the kernel's early
    /// allocations below it have the most room: page aligned, above the kernel's footprint,
    /// below both `initrd_addr_max` and the end of low RAM.
    static func placeInitrd(size: UInt64, above kernelEnd: UInt64, limit addressMax: UInt64, lowRAMEnd: UInt64) throws(KernelImageError) -> AddressRange {
        let floor = kernelEnd.alignedUp(to: pageSize)
        let available = lowRAMEnd > floor ? lowRAMEnd - floor : 0
        guard size <= available else { throw .initrdTooLarge(size: size, available: available) }
        let ceiling = min(addressMax.saturatingAdd(1), lowRAMEnd)
        guard ceiling >= floor, size <= ceiling - floor, (ceiling - size).alignedDown(to: pageSize) >= floor,
            let range = AddressRange(start: (ceiling - size).alignedDown(to: pageSize), length: size)
        else {
            throw .initrdDoesNotFitBelowLimit(size: size, limit: addressMax)
        }
        return range
    }
}
