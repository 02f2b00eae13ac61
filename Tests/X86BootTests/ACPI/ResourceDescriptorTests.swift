import SwiftletCore
import Testing
@testable import X86Boot

/// Resource descriptor encodings derived from ACPI 6.5 §6.4.2 (small) and §6.4.3 (large).
@Suite struct ResourceDescriptorTests {
    private func range(_ start: UInt64, _ length: UInt64) -> AddressRange { AddressRange(start: start, length: length)! }

    @Test func ioDescriptor() throws {
        // IO (Decode16, 0x0CF8, 0x0CF8, 0x01, 0x08): tag 0x47, information 1 = 16-bit decode.
        #expect(
            try ResourceDescriptor.io(minimum: 0xCF8, maximum: 0xCF8, alignment: 1, length: 8).bytes
                == [0x47, 0x01, 0xF8, 0x0C, 0xF8, 0x0C, 0x01, 0x08])
        #expect(
            try ResourceDescriptor.io(decode16: false, minimum: 0x60, maximum: 0x64, alignment: 4, length: 1).bytes
                == [0x47, 0x00, 0x60, 0x00, 0x64, 0x00, 0x04, 0x01])
        #expect(throws: FirmwareTableError.self) { try ResourceDescriptor.io(minimum: 2, maximum: 1, alignment: 1, length: 1) }
    }

    @Test func fixedIODescriptor() throws {
        #expect(try ResourceDescriptor.fixedIO(base: 0x3F8, length: 8).bytes == [0x4B, 0xF8, 0x03, 0x08])
        #expect(throws: FirmwareTableError.self) { try ResourceDescriptor.fixedIO(base: 0x400, length: 1) }
    }

    @Test func memory32FixedDescriptor() throws {
        // Memory32Fixed (ReadWrite, 0xD0000000, 0x1000): tag 0x86, length 9, information 1 = writable.
        #expect(
            try ResourceDescriptor.memory32Fixed(range(0xD000_0000, 0x1000)).bytes
                == [0x86, 0x09, 0x00, 0x01, 0x00, 0x00, 0x00, 0xD0, 0x00, 0x10, 0x00, 0x00])
        #expect(try ResourceDescriptor.memory32Fixed(range(0x1000, 0x10), writable: false).bytes[3] == 0x00)
        // Ending exactly at 4 GiB is fine; crossing it is not.
        #expect(try ResourceDescriptor.memory32Fixed(range(0xFFFF_F000, 0x1000)).bytes.count == 12)
        #expect(throws: FirmwareTableError.self) { try ResourceDescriptor.memory32Fixed(range(0xFFFF_F000, 0x1001)) }
        #expect(throws: FirmwareTableError.self) { try ResourceDescriptor.memory32Fixed(range(0x1_0000_0000, 0x1000)) }
    }

    @Test func extendedInterruptDescriptor() throws {
        // Interrupt (ResourceConsumer, Edge, ActiveHigh, Exclusive) { 4 }: tag 0x89, length 6,
        // flags 0b0_0_0_1_1 (consumer, edge), one interrupt.
        #expect(try ResourceDescriptor.interrupt([4]).bytes == [0x89, 0x06, 0x00, 0x03, 0x01, 0x04, 0x00, 0x00, 0x00])
        // Level, ActiveLow, Shared: flags 0b0_1_1_0_1; two interrupts make the length 10.
        #expect(
            try ResourceDescriptor.interrupt([5, 0x1_0000], trigger: .level, polarity: .activeLow, shared: true).bytes
                == [0x89, 0x0A, 0x00, 0x0D, 0x02, 0x05, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00])
        #expect(throws: FirmwareTableError.self) { try ResourceDescriptor.interrupt([]) }
        #expect(throws: FirmwareTableError.self) { try ResourceDescriptor.interrupt(Array(repeating: 1, count: 256)) }
    }

    @Test func wordBusNumberDescriptor() throws {
        // WordBusNumber (ResourceProducer, MinFixed, MaxFixed, PosDecode, 0, 0, 0, 0, 1):
        // tag 0x88, length 13, type 2, general flags 0x0C, then granularity, min, max,
        // translation and length as words.
        #expect(
            try ResourceDescriptor.wordBusNumber(0...0).bytes
                == [0x88, 0x0D, 0x00, 0x02, 0x0C, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00])
        #expect(try ResourceDescriptor.wordBusNumber(0...255).bytes.suffix(6) == [0xFF, 0x00, 0x00, 0x00, 0x00, 0x01])
    }

    @Test func wordIODescriptor() throws {
        // WordIO (ResourceProducer, MinFixed, MaxFixed, PosDecode, EntireRange, 0, 0x1000,
        // 0xFFFF, 0, 0xF000): type 1, type-specific flags 3 (_RNG = entire range).
        #expect(
            try ResourceDescriptor.wordIO(range(0x1000, 0xF000)).bytes
                == [0x88, 0x0D, 0x00, 0x01, 0x0C, 0x03, 0x00, 0x00, 0x00, 0x10, 0xFF, 0xFF, 0x00, 0x00, 0x00, 0xF0])
        // The whole 64 KiB space has a length of 0x10000, which a word cannot hold.
        #expect(throws: FirmwareTableError.self) { try ResourceDescriptor.wordIO(range(0, 0x1_0000)) }
        #expect(throws: FirmwareTableError.self) { try ResourceDescriptor.wordIO(range(0x1000, 0)) }
    }

    @Test func dwordMemoryDescriptor() throws {
        // DWordMemory (ResourceProducer, PosDecode, MinFixed, MaxFixed, NonCacheable, ReadWrite,
        // 0, 0xC0000000, 0xFEBFFFFF, 0, 0x3EC00000): tag 0x87, length 23, type 0, flags 0x0C, RW 1.
        #expect(
            try ResourceDescriptor.dwordMemory(range(0xC000_0000, 0x3EC0_0000)).bytes
                == [0x87, 0x17, 0x00, 0x00, 0x0C, 0x01,
                    0x00, 0x00, 0x00, 0x00,
                    0x00, 0x00, 0x00, 0xC0,
                    0xFF, 0xFF, 0xBF, 0xFE,
                    0x00, 0x00, 0x00, 0x00,
                    0x00, 0x00, 0xC0, 0x3E])
        // Prefetchable read-only: MEM = 3 in bits 1-2, RW clear.
        #expect(try ResourceDescriptor.dwordMemory(range(0, 0x1000), cacheability: .prefetchable, writable: false).bytes[5] == 0x06)
        #expect(throws: FirmwareTableError.self) { try ResourceDescriptor.dwordMemory(range(0xFFFF_F000, 0x2000)) }
    }

    @Test func qwordMemoryDescriptor() throws {
        // QWordMemory (ResourceProducer, PosDecode, MinFixed, MaxFixed, Cacheable, ReadWrite,
        // 0, 0x100000000, 0x1FFFFFFFF, 0, 0x100000000): tag 0x8A, length 43, flags 0x03.
        let bytes = try ResourceDescriptor.qwordMemory(range(0x1_0000_0000, 0x1_0000_0000)).bytes
        #expect(bytes.count == 46)
        #expect(Array(bytes.prefix(6)) == [0x8A, 0x2B, 0x00, 0x00, 0x0C, 0x03])
        #expect(bytes.loadLittleEndian(UInt64.self, at: 6) == 0)
        #expect(bytes.loadLittleEndian(UInt64.self, at: 14) == 0x1_0000_0000)
        #expect(bytes.loadLittleEndian(UInt64.self, at: 22) == 0x1_FFFF_FFFF)
        #expect(bytes.loadLittleEndian(UInt64.self, at: 30) == 0)
        #expect(bytes.loadLittleEndian(UInt64.self, at: 38) == 0x1_0000_0000)
        // A range that reaches the top of the 64-bit space still describes itself.
        let top = try ResourceDescriptor.qwordMemory(range(0xFFFF_FFFF_FFFF_F000, 0x1000)).bytes
        #expect(top.loadLittleEndian(UInt64.self, at: 22) == UInt64.max)
    }

    @Test func templateEndsWithAChecksummedEndTag() throws {
        let io = try ResourceDescriptor.io(minimum: 0x3F8, maximum: 0x3F8, alignment: 1, length: 8)
        let template = try ResourceTemplate.buffer([io]).bytes
        // Buffer: PkgLength 13 = 1 + BufferSize 0x0A 0x0A (2) + 8 + end tag (2).
        #expect(Array(template.prefix(4)) == [0x11, 0x0D, 0x0A, 0x0A])
        let descriptors = Array(template.dropFirst(4))
        #expect(Array(descriptors.prefix(8)) == io.bytes)
        #expect(descriptors[8] == 0x79)
        #expect(FirmwareChecksum.isValid(descriptors))
        #expect(descriptors[9] == 0 &- (io.bytes.reduce(0, &+) &+ 0x79))
        // An empty template is only the end tag: 0x79 and the byte that cancels it.
        #expect(try ResourceTemplate.buffer([]).bytes == [0x11, 0x05, 0x0A, 0x02, 0x79, 0x87])
    }
}
