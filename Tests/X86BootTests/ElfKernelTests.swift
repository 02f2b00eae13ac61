import GuestMemory
import SwiftletCore
import Testing
@testable import X86Boot

@Suite struct ElfKernelTests {
    static let ramSize: UInt64 = 16 << 20
    let memory = try! lowRAM(ElfKernelTests.ramSize)

    private func prepare(_ bytes: [UInt8], initrd: [UInt8]? = nil, commandLine: String = "") throws -> LinuxBootResult {
        try LinuxBoot.prepare(memory: memory, kernel: bytes, initrd: initrd, commandLine: commandLine)
    }

    @Test func validElfLoadsSegmentAndZeroesBss() throws {
        // Dirty the bss range first so the zeroing is observable.
        try memory.fill(0xCC, at: 0x10_0000, count: 0x3000)
        let elf = SyntheticElf()
        let result = try prepare(elf.bytes)
        #expect(result.format == .elf64)
        #expect(result.cpu.rip == 0x10_0010)
        #expect(result.kernelEnd == 0x10_2000)
        #expect(try memory.readBytes(at: 0x10_0000, count: 0x100) == (0..<0x100).map(SyntheticElf.segmentByte))
        #expect(try memory.readBytes(at: 0x10_0100, count: 0x1F00).allSatisfy { $0 == 0 })
        #expect(try memory.read(UInt8.self, at: 0x10_2000) == 0xCC)
    }

    @Test func zeroPageHeaderIsSynthesised() throws {
        _ = try prepare(SyntheticElf().bytes, commandLine: "console=ttyS0")
        let zeroPage = X86Layout.zeroPageAddress
        #expect(try memory.read(UInt32.self, at: zeroPage + 0x202) == 0x5372_6448)
        #expect(try memory.read(UInt16.self, at: zeroPage + 0x206) == 0x020F)
        #expect(try memory.read(UInt16.self, at: zeroPage + 0x1FE) == 0xAA55)
        #expect(try memory.read(UInt8.self, at: zeroPage + 0x210) == 0xFF)
        #expect(try memory.read(UInt32.self, at: zeroPage + 0x230) == 0x100_0000)
        #expect(try memory.read(UInt32.self, at: zeroPage + 0x238) == 0xFFFF)
        #expect(try memory.read(UInt32.self, at: zeroPage + 0x22C) == 0x37FF_FFFF)
        #expect(try memory.read(UInt32.self, at: zeroPage + 0x228) == 0x2_0000)
        #expect(try memory.readBytes(at: 0x2_0000, count: 14) == Array("console=ttyS0".utf8) + [0])
    }

    @Test func kernelHalfVirtualEntryIsTranslated() throws {
        let elf = SyntheticElf(
            entry: 0xFFFF_FFFF_8100_0040, physicalAddress: 0x20_0000, virtualAddress: 0xFFFF_FFFF_8100_0000)
        #expect(try prepare(elf.bytes).cpu.rip == 0x20_0040)
    }

    @Test func entryOutsideEverySegmentIsRefused() {
        #expect(throws: KernelImageError.entryPointNotLoaded(0x50_0000)) {
            try prepare(SyntheticElf(entry: 0x50_0000).bytes)
        }
        #expect(throws: KernelImageError.entryPointNotLoaded(0xFFFF_FFFF_9000_0000)) {
            try prepare(SyntheticElf(entry: 0xFFFF_FFFF_9000_0000).bytes)
        }
    }

    @Test func everyTruncationThrowsInsteadOfTrapping() {
        let full = SyntheticElf().bytes
        for length in 0..<full.count {
            #expect(throws: KernelImageError.self, "length \(length)") {
                try prepare(Array(full.prefix(length)))
            }
        }
        #expect(throws: KernelImageError.truncated(.elfHeader, needed: 64, available: 2)) { try prepare(Array(full.prefix(2))) }
        #expect(throws: KernelImageError.truncated(.elfHeader, needed: 64, available: 40)) { try prepare(Array(full.prefix(40))) }
        #expect(throws: KernelImageError.truncated(.programHeader(0), needed: 120, available: 100)) { try prepare(Array(full.prefix(100))) }
        #expect(throws: KernelImageError.truncated(.programHeader(1), needed: 176, available: 150)) { try prepare(Array(full.prefix(150))) }
        #expect(throws: KernelImageError.truncated(.segment(1), needed: 176 + 0x100, available: 200)) { try prepare(Array(full.prefix(200))) }
    }

    @Test func programHeadersPastTheEndAreTruncation() {
        #expect(throws: KernelImageError.truncated(.programHeader(0), needed: 0x1_0000 + 56, available: 176 + 0x100)) {
            try prepare(SyntheticElf(programHeaderOffset: 0x1_0000).bytes)
        }
        #expect(throws: KernelImageError.truncated(.programHeader(0), needed: .max, available: 176 + 0x100)) {
            try prepare(SyntheticElf(programHeaderOffset: .max - 8).bytes)
        }
    }

    @Test func segmentOutsideRAMIsRefused() {
        #expect(throws: KernelImageError.segmentOutsideRAM(index: 1, address: 0xFF_0000, size: 0x2_0000)) {
            try prepare(SyntheticElf(entry: 0xFF_0000, physicalAddress: 0xFF_0000, memorySize: 0x2_0000).bytes)
        }
        #expect(throws: KernelImageError.segmentOutsideRAM(index: 1, address: 0x10_0000, size: .max)) {
            try prepare(SyntheticElf(memorySize: .max).bytes)
        }
    }

    @Test func segmentBelowOneMiBWouldOverwriteBootStructures() {
        #expect(throws: KernelImageError.segmentOverlapsBootStructures(index: 1, address: 0x7000)) {
            try prepare(SyntheticElf(entry: 0x7000, physicalAddress: 0x7000).bytes)
        }
    }

    @Test func fileSizeLargerThanMemorySizeIsRefused() {
        #expect(throws: KernelImageError.segmentFileSizeExceedsMemorySize(index: 1, fileSize: 0x100, memorySize: 0x80)) {
            try prepare(SyntheticElf(memorySize: 0x80).bytes)
        }
    }

    @Test func wrongClassEncodingMachineOrTypeIsRefused() {
        #expect(throws: KernelImageError.elfNot64Bit(elfClass: 1)) { try prepare(SyntheticElf(elfClass: 1).bytes) }
        #expect(throws: KernelImageError.elfNotLittleEndian(encoding: 2)) { try prepare(SyntheticElf(encoding: 2).bytes) }
        #expect(throws: KernelImageError.elfNotX86_64(machine: 183)) { try prepare(SyntheticElf(machine: 183).bytes) }
        #expect(throws: KernelImageError.elfNotExecutable(type: 3)) { try prepare(SyntheticElf(type: 3).bytes) }
        #expect(throws: KernelImageError.elfBadProgramHeaderSize(32)) { try prepare(SyntheticElf(programHeaderEntrySize: 32).bytes) }
    }

    @Test func elfWithoutLoadableContentIsRefused() {
        #expect(throws: KernelImageError.noLoadableSegment) {
            try prepare(SyntheticElf(fileSize: 0, memorySize: 0).bytes)
        }
    }

    @Test func initrdIsPlacedAboveTheSegments() throws {
        let initrd = [UInt8](repeating: 0x42, count: 0x2345)
        let result = try prepare(SyntheticElf().bytes, initrd: initrd)
        let range = try #require(result.initrdRange)
        let end = try #require(range.end)
        #expect(range.start >= result.kernelEnd)
        #expect(range.start % 0x1000 == 0)
        #expect(end <= Self.ramSize)
        #expect(Self.ramSize - end < 0x1000)
        #expect(try memory.readBytes(at: GuestAddress(range.start), count: initrd.count) == initrd)
    }
}
