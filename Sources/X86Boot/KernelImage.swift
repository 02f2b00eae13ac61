import SwiftletCore

/// A kernel image parsed and checked for internal consistency, not yet placed in a VM.
struct KernelImage {
    /// Bytes to copy to `guestAddress`, followed by zeros up to `memorySize`.
    struct Segment {
        var index: Int
        var fileBytes: ArraySlice<UInt8>
        var guestAddress: GuestAddress
        var memorySize: UInt64
    }

    var format: KernelFormat
    var segments: [Segment]
    var entry: UInt64
    /// First address above everything the kernel occupies while starting up, including the
    /// room a bzImage's decompressor needs (`init_size`). Saturates instead of overflowing.
    var footprintEnd: UInt64
    /// The image's own setup header (from offset 0x1F1), copied into the zero page;
    /// nil for ELF kernels, which have none.
    var setupHeader: ArraySlice<UInt8>?
    /// The longest command line the kernel accepts, without the terminating NUL.
    var commandLineLimit: UInt64
    /// The highest address an initrd byte may occupy.
    var initrdAddressMax: UInt64

    /// Recognises and parses a bzImage or ELF64 executable; throws `KernelImageError` for
    /// anything else, whatever the bytes are.
    static func parse(_ bytes: [UInt8]) throws(KernelImageError) -> KernelImage {
        guard !bytes.isEmpty else { throw .emptyFile }
        let image = ImageBytes(bytes: bytes)
        if ElfKernel.hasMagic(image) { return try ElfKernel.parse(image) }
        if let magic = image.read(UInt32.self, at: ZeroPage.header), magic == ZeroPage.headerMagic {
            return try BzImageKernel.parse(image)
        }
        if ElfKernel.isMagicPrefix(image) {
            throw .truncated(.elfHeader, needed: ElfKernel.headerSize, available: image.count)
        }
        if BzImageKernel.looksLikeTruncatedBootSector(image) {
            throw .truncated(.setupHeader, needed: BzImageKernel.requiredHeaderEnd, available: image.count)
        }
        throw .notAKernel
    }
}

/// Overflow-free arithmetic for sizes that come from an image file.
extension UInt64 {
    func saturatingAdd(_ other: UInt64) -> UInt64 {
        let (sum, overflow) = addingReportingOverflow(other)
        return overflow ? .max : sum
    }

    func alignedUp(to alignment: UInt64) -> UInt64 {
        let mask = alignment - 1
        return self > UInt64.max - mask ? UInt64.max & ~mask : (self + mask) & ~mask
    }

    func alignedDown(to alignment: UInt64) -> UInt64 {
        self & ~(alignment - 1)
    }
}
