import GuestMemory
import SwiftletCore
import Testing
@testable import X86Boot

@Suite struct BzImageTests {
    static let ramSize: UInt64 = 64 << 20
    let memory = try! lowRAM(BzImageTests.ramSize)

    @Test func validImageLoadsAtOneMiBAndEntersAt0x100200() throws {
        let image = SyntheticBzImage()
        let result = try LinuxBoot.prepare(memory: memory, kernel: image.bytes, initrd: nil, commandLine: "console=ttyS0")
        #expect(result.format == .bzImage(protocolVersion: 0x020F))
        #expect(result.cpu.rip == 0x10_0200)
        let loaded = try memory.readBytes(at: 0x10_0000, count: image.codeSize)
        #expect(loaded == (0..<image.codeSize).map(SyntheticBzImage.codeByte))
        // Decompression needs init_size from pref_address (16 MiB) on.
        #expect(result.kernelEnd == 0x100_0000 + 0x80_0000)
        #expect(result.initrdRange == nil)
    }

    @Test func setupHeaderIsCopiedIntoTheZeroPage() throws {
        let image = SyntheticBzImage(kernelAlignment: 0x40_0000, initSize: 0x7A_B000)
        _ = try LinuxBoot.prepare(memory: memory, kernel: image.bytes, initrd: nil, commandLine: "")
        let zeroPage = X86Layout.zeroPageAddress
        #expect(try memory.read(UInt32.self, at: zeroPage + 0x230) == 0x40_0000)
        #expect(try memory.read(UInt32.self, at: zeroPage + 0x260) == 0x7A_B000)
        #expect(try memory.read(UInt16.self, at: zeroPage + 0x236) == 0x0001)
        #expect(try memory.read(UInt16.self, at: zeroPage + 0x206) == 0x020F)
        #expect(try memory.read(UInt8.self, at: zeroPage + 0x1F1) == 2)
        #expect(try memory.read(UInt64.self, at: zeroPage + 0x258) == 0x100_0000)
    }

    @Test func zeroSetupSectorsMeansFour() throws {
        let image = SyntheticBzImage(setupSectors: 0)
        #expect(image.codeOffset == 5 * 512)
        _ = try LinuxBoot.prepare(memory: memory, kernel: image.bytes, initrd: nil, commandLine: "")
        #expect(try memory.readBytes(at: 0x10_0000, count: 16) == (0..<16).map(SyntheticBzImage.codeByte))
    }

    @Test(arguments: [0x200, 0x205, 0x207, 0x230, 0x263])
    func truncatedHeaderIsReported(length: Int) {
        let bytes = Array(SyntheticBzImage().bytes.prefix(length))
        #expect(throws: KernelImageError.truncated(.setupHeader, needed: 0x264, available: UInt64(length))) {
            try LinuxBoot.prepare(memory: memory, kernel: bytes, initrd: nil, commandLine: "")
        }
    }

    @Test(arguments: [0x268, 0x400, 0x5FF, 0x600])
    func imageWithoutProtectedModeCodeIsTruncated(length: Int) {
        let bytes = Array(SyntheticBzImage().bytes.prefix(length))
        #expect(throws: KernelImageError.truncated(.protectedModeCode, needed: 0x601, available: UInt64(length))) {
            try LinuxBoot.prepare(memory: memory, kernel: bytes, initrd: nil, commandLine: "")
        }
    }

    @Test func everyPrefixWithoutCodeThrows() {
        let full = SyntheticBzImage().bytes
        for length in 0...0x600 {
            #expect(throws: KernelImageError.self) {
                try LinuxBoot.prepare(memory: memory, kernel: Array(full.prefix(length)), initrd: nil, commandLine: "")
            }
        }
    }

    @Test func wrongMagicIsNotAKernel() {
        var bytes = SyntheticBzImage().bytes
        bytes[0x202] = UInt8(ascii: "X")
        #expect(throws: KernelImageError.notAKernel) {
            try LinuxBoot.prepare(memory: memory, kernel: bytes, initrd: nil, commandLine: "")
        }
    }

    @Test func protocol205IsTooOld() {
        let image = SyntheticBzImage(version: 0x0205)
        #expect(throws: KernelImageError.bootProtocolTooOld(version: 0x0205)) {
            try LinuxBoot.prepare(memory: memory, kernel: image.bytes, initrd: nil, commandLine: "")
        }
    }

    @Test func protocolBefore212HasNo64BitEntry() {
        let image = SyntheticBzImage(version: 0x020A)
        #expect(throws: KernelImageError.no64BitEntry(version: 0x020A, xloadflags: 1)) {
            try LinuxBoot.prepare(memory: memory, kernel: image.bytes, initrd: nil, commandLine: "")
        }
    }

    @Test func missingXLFKernel64IsRefused() {
        let image = SyntheticBzImage(xloadflags: 0x0002)
        #expect(throws: KernelImageError.no64BitEntry(version: 0x020F, xloadflags: 2)) {
            try LinuxBoot.prepare(memory: memory, kernel: image.bytes, initrd: nil, commandLine: "")
        }
    }

    @Test func commandLineMayNotExceedTheKernelsCmdlineSize() throws {
        let image = SyntheticBzImage(commandLineSize: 16)
        let exact = String(repeating: "a", count: 16)
        _ = try LinuxBoot.prepare(memory: memory, kernel: image.bytes, initrd: nil, commandLine: exact)
        #expect(try memory.readBytes(at: GuestAddress(X86Layout.commandLine.start), count: 17) == Array(exact.utf8) + [0])
        #expect(throws: KernelImageError.commandLineTooLong(length: 17, limit: 16)) {
            try LinuxBoot.prepare(memory: memory, kernel: image.bytes, initrd: nil, commandLine: exact + "b")
        }
    }

    @Test func commandLineMayNotExceedOurArea() {
        let image = SyntheticBzImage(commandLineSize: 0x10_0000)
        let tooLong = String(repeating: "x", count: 0x10000)
        #expect(throws: KernelImageError.commandLineTooLong(length: 0x10000, limit: 0xFFFF)) {
            try LinuxBoot.prepare(memory: memory, kernel: image.bytes, initrd: nil, commandLine: tooLong)
        }
    }

    @Test func initrdGoesHighButBelowInitrdAddrMaxAndAboveTheKernel() throws {
        let image = SyntheticBzImage(initrdAddressMax: 0x2FF_FFFF)
        let initrd = (0..<0x1234).map { UInt8(truncatingIfNeeded: $0 ^ 0x5A) }
        let result = try LinuxBoot.prepare(memory: memory, kernel: image.bytes, initrd: initrd, commandLine: "")
        let range = try #require(result.initrdRange)
        let end = try #require(range.end)
        #expect(range.length == UInt64(initrd.count))
        #expect(range.start % 0x1000 == 0)
        #expect(end <= 0x300_0000)
        #expect(end > 0x300_0000 - 0x1000)
        #expect(range.start >= result.kernelEnd)
        #expect(try memory.readBytes(at: GuestAddress(range.start), count: initrd.count) == initrd)
        let zeroPage = X86Layout.zeroPageAddress
        #expect(try memory.read(UInt32.self, at: zeroPage + 0x218) == UInt32(range.start))
        #expect(try memory.read(UInt32.self, at: zeroPage + 0x21C) == UInt32(initrd.count))
    }

    @Test func initrdIsCappedByTheEndOfRAM() throws {
        let result = try LinuxBoot.prepare(memory: memory, kernel: SyntheticBzImage().bytes, initrd: [1, 2, 3], commandLine: "")
        #expect(result.initrdRange == AddressRange(start: Self.ramSize - 0x1000, length: 3))
    }

    @Test func initrdLargerThanFreeRAMIsTooLarge() {
        // Kernel footprint ends at 24 MiB; 40 MiB are left.
        let initrd = [UInt8](repeating: 0, count: 40 << 20 + 1)
        #expect(throws: KernelImageError.initrdTooLarge(size: UInt64(initrd.count), available: 40 << 20)) {
            try LinuxBoot.prepare(memory: memory, kernel: SyntheticBzImage().bytes, initrd: initrd, commandLine: "")
        }
    }

    @Test func initrdThatFitsInRAMButNotBelowTheLimitIsRefused() {
        let image = SyntheticBzImage(initrdAddressMax: 0x1FF_FFFF)  // 8 MiB above the footprint
        let initrd = [UInt8](repeating: 0, count: 9 << 20)
        #expect(throws: KernelImageError.initrdDoesNotFitBelowLimit(size: 9 << 20, limit: 0x1FF_FFFF)) {
            try LinuxBoot.prepare(memory: memory, kernel: image.bytes, initrd: initrd, commandLine: "")
        }
    }

    @Test func kernelWhoseDecompressionAreaExceedsRAMIsRefused() {
        let image = SyntheticBzImage(initSize: 0x400_0000)
        #expect(throws: KernelImageError.kernelDoesNotFit(end: 0x500_0000, ramEnd: Self.ramSize)) {
            try LinuxBoot.prepare(memory: memory, kernel: image.bytes, initrd: nil, commandLine: "")
        }
    }

    @Test func refusedImageLeavesMemoryUntouched() throws {
        try memory.write(UInt32(0xDEAD_BEEF), at: X86Layout.zeroPageAddress + 0x202)
        #expect(throws: KernelImageError.self) {
            try LinuxBoot.prepare(memory: memory, kernel: SyntheticBzImage(version: 0x0205).bytes, initrd: nil, commandLine: "")
        }
        #expect(try memory.read(UInt32.self, at: X86Layout.zeroPageAddress + 0x202) == 0xDEAD_BEEF)
    }
}
