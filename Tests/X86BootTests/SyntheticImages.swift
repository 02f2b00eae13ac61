/// Minimal kernel images built byte by byte, so every loader path can be exercised without
/// shipping a real kernel.

extension Array where Element == UInt8 {
    mutating func put<T: FixedWidthInteger>(_ value: T, at offset: Int) {
        for index in 0..<MemoryLayout<T>.size {
            self[offset + index] = UInt8(truncatingIfNeeded: value >> (8 * index))
        }
    }
}

/// A bzImage with just a setup header and some "protected-mode code".
struct SyntheticBzImage {
    var setupSectors: UInt8 = 2
    var version: UInt16 = 0x020F
    var xloadflags: UInt16 = 0x0001
    var commandLineSize: UInt32 = 2048
    var initrdAddressMax: UInt32 = 0x37FF_FFFF
    var kernelAlignment: UInt32 = 0x20_0000
    var preferredAddress: UInt64 = 0x100_0000
    var initSize: UInt32 = 0x80_0000
    var codeSize = 0x3000

    /// Where the protected-mode code starts in the file (setup_sects 0 means 4).
    var codeOffset: Int { (Int(setupSectors == 0 ? 4 : setupSectors) + 1) * 512 }

    /// Recognisable code bytes: byte i is (i * 7) & 0xFF, offset by 1 so the first is nonzero.
    static func codeByte(_ index: Int) -> UInt8 { UInt8(truncatingIfNeeded: index &* 7 &+ 1) }

    var bytes: [UInt8] {
        var image = [UInt8](repeating: 0, count: codeOffset + codeSize)
        image[0x1F1] = setupSectors
        image.put(UInt16(0xAA55), at: 0x1FE)
        image[0x200] = 0xEB  // jmp short: header ends at 0x202 + 0x66 = 0x268
        image[0x201] = 0x66
        image.put(UInt32(0x5372_6448), at: 0x202)
        image.put(version, at: 0x206)
        image[0x211] = 0x01  // LOADED_HIGH
        image.put(UInt32(0x10_0000), at: 0x214)
        image.put(initrdAddressMax, at: 0x22C)
        image.put(kernelAlignment, at: 0x230)
        image[0x234] = 1
        image.put(xloadflags, at: 0x236)
        image.put(commandLineSize, at: 0x238)
        image.put(preferredAddress, at: 0x258)
        image.put(initSize, at: 0x260)
        for index in 0..<codeSize { image[codeOffset + index] = Self.codeByte(index) }
        return image
    }
}

/// An ELF64 executable with one PT_LOAD segment (plus optional non-load headers).
struct SyntheticElf {
    var elfClass: UInt8 = 2
    var encoding: UInt8 = 1
    var type: UInt16 = 2
    var machine: UInt16 = 62
    var entry: UInt64 = 0x10_0010
    var programHeaderOffset: UInt64? = nil  // nil: right after the ELF header
    var programHeaderEntrySize: UInt16 = 56
    var physicalAddress: UInt64 = 0x10_0000
    var virtualAddress: UInt64? = nil  // nil: same as physical
    var fileSize: UInt64 = 0x100
    var memorySize: UInt64 = 0x2000
    /// A PT_NOTE placed before the load segment, to show that other types are skipped.
    var includeNote = true

    static let headerSize = 64
    static let programHeaderSize = 56

    var programHeaderCount: Int { includeNote ? 2 : 1 }
    var segmentOffset: Int { Self.headerSize + programHeaderCount * Self.programHeaderSize }
    static func segmentByte(_ index: Int) -> UInt8 { UInt8(truncatingIfNeeded: index &* 13 &+ 5) }

    var bytes: [UInt8] {
        let dataSize = Int(min(fileSize, 0x10000))
        var image = [UInt8](repeating: 0, count: segmentOffset + dataSize)
        image.replaceSubrange(0..<4, with: [0x7F, 0x45, 0x4C, 0x46])
        image[4] = elfClass
        image[5] = encoding
        image[6] = 1
        image.put(type, at: 16)
        image.put(machine, at: 18)
        image.put(UInt32(1), at: 20)
        image.put(entry, at: 24)
        image.put(programHeaderOffset ?? UInt64(Self.headerSize), at: 32)
        image.put(UInt16(Self.headerSize), at: 52)
        image.put(programHeaderEntrySize, at: 54)
        image.put(UInt16(programHeaderCount), at: 56)
        var header = Self.headerSize
        if includeNote {
            image.put(UInt32(4), at: header)  // PT_NOTE at a silly address: must be ignored
            image.put(UInt64(0), at: header + 24)
            header += Self.programHeaderSize
        }
        image.put(UInt32(1), at: header)  // PT_LOAD
        image.put(UInt32(7), at: header + 4)
        image.put(UInt64(segmentOffset), at: header + 8)
        image.put(virtualAddress ?? physicalAddress, at: header + 16)
        image.put(physicalAddress, at: header + 24)
        image.put(fileSize, at: header + 32)
        image.put(memorySize, at: header + 40)
        image.put(UInt64(0x1000), at: header + 48)
        for index in 0..<dataSize { image[segmentOffset + index] = Self.segmentByte(index) }
        return image
    }
}

/// Deterministic pseudo-random bytes (SplitMix64), so fuzz-style tests are reproducible.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
