import GuestMemory

/// Direct boot of a Linux kernel (or any guest following its 64-bit boot protocol): the VMM
/// does what a boot loader and the real-mode setup code would, and enters the kernel in long
/// mode.
public enum LinuxBoot {
    static let pageSize: UInt64 = 0x1000

    /// Parses the image (bzImage or ELF64 vmlinux), loads it, the initrd and the command line into guest memory,
    /// writes the zero page (boot_params) with an e820 map built from memory.regions, the GDT, an IDT placeholder and identity page tables,
    /// and returns the CPU state to enter with. Throws KernelImageError (or GuestMemoryError) and must never trap on any input bytes.
    public static func prepare(memory: GuestMemory, kernel: [UInt8], initrd: [UInt8]?, commandLine: String) throws -> LinuxBootResult {
        // Everything is checked before the first byte is written, so a refused image leaves
        // guest memory untouched.
        let image = try KernelImage.parse(kernel)
        let lowRAMEnd = lowMemoryEnd(of: memory)
        try checkPlacement(of: image, in: memory, lowRAMEnd: lowRAMEnd)
        let commandLineBytes = try commandLineBytes(commandLine, limit: image.commandLineLimit)
        let initrdBytes = initrd.flatMap { $0.isEmpty ? nil : $0 }
        let initrdRange = try initrdBytes.map {
            try placeInitrd(size: UInt64($0.count), above: image.footprintEnd, limit: image.initrdAddressMax, lowRAMEnd: lowRAMEnd)
        }

        try memory.fill(0, at: X86Layout.zeroPageAddress, count: ZeroPage.size)
        try writeSetupHeader(of: image, to: memory)
        try ZeroPage.writeLoaderFields(
            ZeroPageContents(initrd: initrdRange, e820: E820Entry.map(for: memory.layout)),
            to: memory)
        try BootGDT.write(to: memory)
        try BootPageTables.write(to: memory)
        try memory.write(bytes: commandLineBytes + [0], at: X86Layout.commandLineAddress)
        for segment in image.segments {
            try memory.write(bytes: segment.fileBytes, at: segment.guestAddress)
            let tail = segment.memorySize - UInt64(segment.fileBytes.count)
            if tail > 0 {
                try memory.fill(0, at: segment.guestAddress + UInt64(segment.fileBytes.count), count: Int(tail))
            }
        }
        if let initrdBytes, let initrdRange {
            try memory.write(bytes: initrdBytes, at: initrdRange.lowerBound)
        }

        return LinuxBootResult(format: image.format, cpu: BootCPUState(entry: image.entry), kernelEnd: image.footprintEnd, initrdRange: initrdRange)
    }

    /// The end of the RAM region holding the kernel load address: kernel, decompressor and
    /// initrd must all live there (it is the region below the MMIO hole).
    static func lowMemoryEnd(of memory: GuestMemory) -> UInt64 {
        let load = X86Layout.kernelLoadAddress
        return memory.regions.first { $0.contains(load, length: 1) }?.guestEnd ?? 0
    }

    static func checkPlacement(of image: KernelImage, in memory: GuestMemory, lowRAMEnd: UInt64) throws(KernelImageError) {
        for segment in image.segments {
            guard segment.guestAddress >= X86Layout.highMemoryStart else {
                throw .segmentOverlapsBootStructures(index: segment.index, address: segment.guestAddress)
            }
            guard memory.contains(segment.guestAddress, length: segment.memorySize) else {
                throw .segmentOutsideRAM(index: segment.index, address: segment.guestAddress, size: segment.memorySize)
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
        let limit = Int(min(kernelLimit, X86Layout.commandLineMaxSize - 1))
        guard bytes.count <= limit else { throw .commandLineTooLong(length: bytes.count, limit: limit) }
        return bytes
    }

    /// Puts the initrd as high as allowed, as boot loaders do, so the kernel's early
    /// allocations below it have the most room: page aligned, above the kernel's footprint,
    /// below both `initrd_addr_max` and the end of low RAM.
    static func placeInitrd(size: UInt64, above kernelEnd: UInt64, limit addressMax: UInt64, lowRAMEnd: UInt64) throws(KernelImageError) -> Range<UInt64> {
        let floor = kernelEnd.alignedUp(to: pageSize)
        let available = lowRAMEnd > floor ? lowRAMEnd - floor : 0
        guard size <= available else { throw .initrdTooLarge(size: size, available: available) }
        let ceiling = min(addressMax.saturatingAdd(1), lowRAMEnd)
        guard ceiling >= floor, size <= ceiling - floor, (ceiling - size).alignedDown(to: pageSize) >= floor else {
            throw .initrdDoesNotFitBelowLimit(size: size, limit: addressMax)
        }
        let start = (ceiling - size).alignedDown(to: pageSize)
        return start..<(start + size)
    }

    static func writeSetupHeader(of image: KernelImage, to memory: GuestMemory) throws {
        let base = X86Layout.zeroPageAddress
        if let header = image.setupHeader {
            try memory.write(bytes: header, at: base + ZeroPage.setupHeaderStart)
            return
        }
        try memory.write(ZeroPage.headerMagic, at: base + ZeroPage.header)
        try memory.write(ElfKernel.syntheticProtocolVersion, at: base + ZeroPage.version)
        try memory.write(ZeroPage.loadedHigh, at: base + ZeroPage.loadflags)
        try memory.write(UInt32(X86Layout.kernelLoadAddress), at: base + ZeroPage.code32Start)
        try memory.write(ElfKernel.syntheticKernelAlignment, at: base + ZeroPage.kernelAlignment)
        try memory.write(ElfKernel.syntheticCommandLineSize, at: base + ZeroPage.cmdlineSize)
        try memory.write(ElfKernel.syntheticInitrdAddressMax, at: base + ZeroPage.initrdAddrMax)
    }
}
