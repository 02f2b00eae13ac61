import SwiftletCore

/// Parses an ELF64 x86_64 executable (an uncompressed vmlinux, or a freestanding test guest).
///
/// Only program headers matter: each PT_LOAD is placed at its physical address, which is
/// what the kernel's linker script sets up for a loader without paging of its own.
enum ElfKernel {
    static let magic: [UInt8] = [0x7F, 0x45, 0x4C, 0x46]  // "\x7fELF"
    static let headerSize: UInt64 = 64
    static let programHeaderSize: UInt64 = 56
    static let classELF64: UInt8 = 2
    static let dataLittleEndian: UInt8 = 1
    static let typeExecutable: UInt16 = 2
    static let machineX86_64: UInt16 = 62
    static let programTypeLoad: UInt32 = 1
    /// Kernel-half addresses (the -2 GiB kernel text mapping) are virtual, never physical.
    static let kernelVirtualBase: UInt64 = 0xFFFF_FFFF_8000_0000

    /// Linux boots an ELF kernel with the same conventions as a bzImage; these stand in for
    /// the setup header an ELF file does not have.
    static let syntheticProtocolVersion: UInt16 = 0x020F
    static let syntheticKernelAlignment: UInt32 = 0x100_0000
    static let syntheticCommandLineSize: UInt32 = 0xFFFF
    static let syntheticInitrdAddressMax: UInt32 = 0x37FF_FFFF

    static func hasMagic(_ image: ImageBytes) -> Bool {
        image.bytes.count >= magic.count && image.bytes.prefix(magic.count).elementsEqual(magic)
    }

    static func isMagicPrefix(_ image: ImageBytes) -> Bool {
        image.bytes.count < magic.count && image.bytes.elementsEqual(magic.prefix(image.bytes.count))
    }

    static func parse(_ image: ImageBytes) throws(KernelImageError) -> KernelImage {
        guard let elfClass = image.read(UInt8.self, at: 4), let encoding = image.read(UInt8.self, at: 5) else {
            throw .truncated(.elfHeader, needed: headerSize, available: image.count)
        }
        guard elfClass == classELF64 else { throw .elfNot64Bit(elfClass: elfClass) }
        guard encoding == dataLittleEndian else { throw .elfNotLittleEndian(encoding: encoding) }
        guard image.count >= headerSize,
            let type = image.read(UInt16.self, at: 16),
            let machine = image.read(UInt16.self, at: 18),
            let entry = image.read(UInt64.self, at: 24),
            let programHeaderOffset = image.read(UInt64.self, at: 32),
            let programHeaderEntrySize = image.read(UInt16.self, at: 54),
            let programHeaderCount = image.read(UInt16.self, at: 56)
        else {
            throw .truncated(.elfHeader, needed: headerSize, available: image.count)
        }
        guard machine == machineX86_64 else { throw .elfNotX86_64(machine: machine) }
        guard type == typeExecutable else { throw .elfNotExecutable(type: type) }
        guard programHeaderCount > 0 else { throw .noLoadableSegment }
        guard UInt64(programHeaderEntrySize) >= programHeaderSize else {
            throw .elfBadProgramHeaderSize(programHeaderEntrySize)
        }

        var segments: [ProgramHeader] = []
        for index in 0..<Int(programHeaderCount) {
            // index and entry size are both 16-bit, so only the addition can overflow.
            let offset = programHeaderOffset.saturatingAdd(UInt64(index) * UInt64(programHeaderEntrySize))
            guard let header = ProgramHeader(image, at: offset, index: index) else {
                throw .truncated(.programHeader(index), needed: offset.saturatingAdd(programHeaderSize), available: image.count)
            }
            guard header.type == programTypeLoad else { continue }
            guard header.fileSize <= header.memorySize else {
                throw .segmentFileSizeExceedsMemorySize(index: index, fileSize: header.fileSize, memorySize: header.memorySize)
            }
            guard image.contains(offset: header.fileOffset, length: header.fileSize) else {
                throw .truncated(.segment(index), needed: header.fileOffset.saturatingAdd(header.fileSize), available: image.count)
            }
            // An empty PT_LOAD occupies nothing; skipping it keeps its address from mattering.
            if header.memorySize > 0 { segments.append(header) }
        }
        guard !segments.isEmpty else { throw .noLoadableSegment }

        return KernelImage(
            format: .elf64,
            segments: segments.map { header in
                KernelImage.Segment(
                    index: header.index,
                    fileBytes: image.slice(offset: header.fileOffset, length: header.fileSize) ?? [],
                    guestAddress: GuestAddress(header.physicalAddress),
                    memorySize: header.memorySize)
            },
            entry: try physicalEntry(entry, segments: segments),
            footprintEnd: segments.map { $0.physicalAddress.saturatingAdd($0.memorySize) }.max() ?? 0,
            setupHeader: nil,
            commandLineLimit: UInt64(syntheticCommandLineSize),
            initrdAddressMax: UInt64(syntheticInitrdAddressMax))
    }

    /// The physical entry address. A vmlinux gives a physical `e_entry` (phys_startup_64), but
    /// other linkers give the kernel-half virtual one, which is translated through the segment
    /// that contains it.
    static func physicalEntry(_ entry: UInt64, segments: [ProgramHeader]) throws(KernelImageError) -> UInt64 {
        if entry >= kernelVirtualBase {
            if let segment = segments.first(where: { $0.containsVirtual(entry) }) {
                return segment.physicalAddress &+ (entry &- segment.virtualAddress)
            }
        } else if segments.contains(where: { $0.containsPhysical(entry) }) {
            return entry
        }
        throw .entryPointNotLoaded(entry)
    }

    struct ProgramHeader {
        var index: Int
        var type: UInt32
        var fileOffset: UInt64
        var virtualAddress: UInt64
        var physicalAddress: UInt64
        var fileSize: UInt64
        var memorySize: UInt64

        init?(_ image: ImageBytes, at offset: UInt64, index: Int) {
            guard image.contains(offset: offset, length: ElfKernel.programHeaderSize),
                let type = image.read(UInt32.self, at: offset),
                let fileOffset = image.read(UInt64.self, at: offset + 8),
                let virtualAddress = image.read(UInt64.self, at: offset + 16),
                let physicalAddress = image.read(UInt64.self, at: offset + 24),
                let fileSize = image.read(UInt64.self, at: offset + 32),
                let memorySize = image.read(UInt64.self, at: offset + 40)
            else { return nil }
            self.index = index
            self.type = type
            self.fileOffset = fileOffset
            self.virtualAddress = virtualAddress
            self.physicalAddress = physicalAddress
            self.fileSize = fileSize
            self.memorySize = memorySize
        }

        func containsPhysical(_ address: UInt64) -> Bool { covered(from: physicalAddress).contains(address) }

        func containsVirtual(_ address: UInt64) -> Bool { covered(from: virtualAddress).contains(address) }

        /// The segment's addresses from `base`, cut at the top of the address space: a segment
        /// that would wrap is refused later, when it is placed in RAM, with its own error.
        private func covered(from base: UInt64) -> AddressRange {
            AddressRange(start: base, length: memorySize) ?? AddressRange(start: base, length: 0 &- base)!
        }
    }
}
