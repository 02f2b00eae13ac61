/// Parses a bzImage for the 64-bit boot protocol (Documentation/arch/x86/boot.rst).
enum BzImageKernel {
    static let minimumVersion: UInt16 = 0x0206
    static let minimum64BitVersion: UInt16 = 0x020C
    /// The header must reach `init_size` (0x260..0x264), which every 2.10+ kernel has.
    static let requiredHeaderEnd: UInt64 = ZeroPage.initSize + 4
    /// Protected-mode code is entered 0x200 bytes in for 64-bit boot (startup_64).
    static let entryOffset64: UInt64 = 0x200
    static let defaultSetupSectors: UInt64 = 4
    static let sectorSize: UInt64 = 512
    /// Loaders must assume this when a kernel leaves `initrd_addr_max` zero.
    static let defaultInitrdAddressMax: UInt64 = 0x37FF_FFFF

    /// A file too short to hold "HdrS" but ending in a PC boot sector signature is most
    /// likely a cut-off bzImage; say so rather than "not a kernel".
    static func looksLikeTruncatedBootSector(_ image: ImageBytes) -> Bool {
        image.count < ZeroPage.header + 4 && image.read(UInt16.self, at: ZeroPage.bootFlag) == ZeroPage.bootFlagValue
    }

    static func parse(_ image: ImageBytes) throws(KernelImageError) -> KernelImage {
        guard let version = image.read(UInt16.self, at: ZeroPage.version) else {
            throw .truncated(.setupHeader, needed: requiredHeaderEnd, available: image.count)
        }
        guard version >= minimumVersion else { throw .bootProtocolTooOld(version: version) }
        let xloadflags = image.read(UInt16.self, at: ZeroPage.xloadflags)
        guard version >= minimum64BitVersion else {
            throw .no64BitEntry(version: version, xloadflags: xloadflags ?? 0)
        }
        guard image.count >= requiredHeaderEnd,
            let xloadflags,
            let setupSectorsByte = image.read(UInt8.self, at: ZeroPage.setupSects),
            let jumpOffset = image.read(UInt8.self, at: ZeroPage.jump + 1),
            let initrdAddressMax = image.read(UInt32.self, at: ZeroPage.initrdAddrMax),
            let alignment = image.read(UInt32.self, at: ZeroPage.kernelAlignment),
            let commandLineSize = image.read(UInt32.self, at: ZeroPage.cmdlineSize),
            let preferredAddress = image.read(UInt64.self, at: ZeroPage.prefAddress),
            let initSize = image.read(UInt32.self, at: ZeroPage.initSize)
        else {
            throw .truncated(.setupHeader, needed: requiredHeaderEnd, available: image.count)
        }
        guard xloadflags & ZeroPage.xlfKernel64 != 0 else {
            throw .no64BitEntry(version: version, xloadflags: xloadflags)
        }

        // The header's own length is given by the jump at 0x200 (boot.rst); copy all of it
        // that boot_params has room for, and never less than the fields read above.
        let declaredEnd = ZeroPage.jump + 2 + UInt64(jumpOffset)
        let headerEnd = min(max(declaredEnd, requiredHeaderEnd), ZeroPage.setupHeaderLimit)
        guard let header = image.slice(offset: ZeroPage.setupHeaderStart, length: headerEnd - ZeroPage.setupHeaderStart) else {
            throw .truncated(.setupHeader, needed: headerEnd, available: image.count)
        }

        let setupSectors = setupSectorsByte == 0 ? defaultSetupSectors : UInt64(setupSectorsByte)
        let codeOffset = (setupSectors + 1) * sectorSize
        guard image.count > codeOffset else {
            throw .truncated(.protectedModeCode, needed: codeOffset + 1, available: image.count)
        }
        let codeSize = image.count - codeOffset
        let load = X86Layout.highMemoryStart
        let code = image.bytes[Int(codeOffset)...]

        return KernelImage(
            format: .bzImage(protocolVersion: version),
            segments: [KernelImage.Segment(index: 0, fileBytes: code, guestAddress: load, memorySize: codeSize)],
            entry: load.rawValue + entryOffset64,
            footprintEnd: max(load.rawValue.saturatingAdd(codeSize), decompressionEnd(alignment: alignment, preferredAddress: preferredAddress, initSize: initSize)),
            setupHeader: header,
            commandLineLimit: UInt64(commandLineSize),
            initrdAddressMax: initrdAddressMax == 0 ? defaultInitrdAddressMax : UInt64(initrdAddressMax))
    }

    /// Where the decompressor's working area ends. The 64-bit decompressor
    /// (arch/x86/boot/compressed/head_64.S) moves itself to the load address rounded up to
    /// `kernel_alignment`, but never below LOAD_PHYSICAL_ADDR (`pref_address`), and needs
    /// `init_size` bytes from there.
    static func decompressionEnd(alignment: UInt32, preferredAddress: UInt64, initSize: UInt32) -> UInt64 {
        var start = X86Layout.highMemoryStart.rawValue
        if alignment != 0, alignment & (alignment - 1) == 0 {
            start = start.alignedUp(to: UInt64(alignment))
        }
        return max(start, preferredAddress).saturatingAdd(UInt64(initSize))
    }
}
