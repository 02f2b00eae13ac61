import GuestMemory
import SwiftletCore
import Testing
@testable import X86Boot

@Suite struct BootCPUStateTests {
    @Test func registersFollowThe64BitBootProtocol() throws {
        let memory = try lowRAM(16 << 20)
        let cpu = try LinuxBoot.prepare(memory: memory, kernel: SyntheticElf().bytes, initrd: nil, commandLine: "").cpu
        #expect(cpu.rip == 0x10_0010)
        #expect(cpu.rsp == 0x8FF0 && cpu.rbp == 0x8FF0)
        #expect(cpu.rsi == 0x7000)
        #expect(cpu.rflags == 2)
        #expect(cpu.cr0 == 0x8000_0011)
        #expect(cpu.cr3 == 0x9000)
        #expect(cpu.cr4 == 0x20)
        #expect(cpu.efer == 0x500)
        #expect(cpu.gdt == DescriptorTable(base: 0x500, limit: 31))
        #expect(cpu.idt == DescriptorTable(base: 0x520, limit: 7))
        for (index, entry) in [UInt64(0), 0x00AF_9B00_0000_FFFF, 0x00CF_9300_0000_FFFF, 0x008F_8B00_0000_FFFF].enumerated() {
            #expect(try memory.read(UInt64.self, at: 0x500 + UInt64(index * 8)) == entry)
        }
        #expect(try memory.read(UInt64.self, at: 0x520) == 0)
        #expect(cpu.code == SegmentDescriptor(gdtEntry: 0x00AF_9B00_0000_FFFF, selector: 0x08))
        #expect(cpu.data == SegmentDescriptor(gdtEntry: 0x00CF_9300_0000_FFFF, selector: 0x10))
        #expect(cpu.task == SegmentDescriptor(gdtEntry: 0x008F_8B00_0000_FFFF, selector: 0x18))
    }

    @Test func codeSegmentDecodesAsLongModeCode() {
        let code = SegmentDescriptor(gdtEntry: 0x00AF_9B00_0000_FFFF, selector: 0x08)
        #expect(code == SegmentDescriptor(
            base: 0, limit: 0xFFFF_FFFF, selector: 8, type: 0xB, present: 1, dpl: 0, db: 0, s: 1, l: 1, g: 1, avl: 0))
    }

    @Test func dataAndTaskSegmentsDecode() {
        let data = SegmentDescriptor(gdtEntry: 0x00CF_9300_0000_FFFF, selector: 0x10)
        #expect(data == SegmentDescriptor(
            base: 0, limit: 0xFFFF_FFFF, selector: 0x10, type: 3, present: 1, dpl: 0, db: 1, s: 1, l: 0, g: 1, avl: 0))
        let task = SegmentDescriptor(gdtEntry: 0x008F_8B00_0000_FFFF, selector: 0x18)
        #expect(task == SegmentDescriptor(
            base: 0, limit: 0xFFFF_FFFF, selector: 0x18, type: 0xB, present: 1, dpl: 0, db: 0, s: 0, l: 0, g: 1, avl: 0))
    }

    @Test func baseLimitAndFlagsComeFromTheirScatteredBits() {
        // base 0x12345678, limit 0xABCDE byte-granular, DPL 3, AVL set, present, data RW.
        let entry: UInt64 = 0x12_1A_F2_34_5678_BCDE
        let segment = SegmentDescriptor(gdtEntry: entry, selector: 0x2B)
        #expect(segment.base == 0x1234_5678)
        #expect(segment.limit == 0xA_BCDE)
        #expect(segment.dpl == 3 && segment.avl == 1 && segment.g == 0 && segment.present == 1)
        #expect(segment.type == 2 && segment.s == 1)
        #expect(segment.selector == 0x2B)
    }

    @Test func msrsAndFPUHaveTheirResetValues() {
        let msrs = Dictionary(uniqueKeysWithValues: BootMSRs.entries.map { ($0.index, $0.value) })
        #expect(msrs.count == 11)
        for zeroed: UInt32 in [0x174, 0x175, 0x176, 0xC000_0081, 0xC000_0082, 0xC000_0083, 0xC000_0084, 0xC000_0102, 0x10] {
            #expect(msrs[zeroed] == 0)
        }
        #expect(msrs[0x1A0] == 1)
        #expect(msrs[0x2FF] == 0x806)
        #expect(BootFPU.fcw == 0x37F && BootFPU.mxcsr == 0x1F80)
    }
}
