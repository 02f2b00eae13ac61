import GuestMemory
import SwiftletCore
import Testing
@testable import X86Boot

@Suite struct PageTableTests {
    let memory = try! lowRAM(16 << 20)

    init() throws {
        _ = try LinuxBoot.prepare(memory: memory, kernel: SyntheticElf().bytes, initrd: nil, commandLine: "")
    }

    /// Walks the guest's 4-level tables the way the MMU would, for 2 MiB pages.
    private func translate(_ virtual: UInt64) throws -> UInt64? {
        let cr3 = BootCPUState(entry: 0).cr3
        let pml4e: UInt64 = try memory.read(at: GuestAddress(cr3 + ((virtual >> 39) & 0x1FF) * 8))
        guard pml4e & 1 != 0 else { return nil }
        let pdpte: UInt64 = try memory.read(at: GuestAddress((pml4e & 0xF_FFFF_FFFF_F000) + ((virtual >> 30) & 0x1FF) * 8))
        guard pdpte & 1 != 0, pdpte & 0x80 == 0 else { return nil }
        let pde: UInt64 = try memory.read(at: GuestAddress((pdpte & 0xF_FFFF_FFFF_F000) + ((virtual >> 21) & 0x1FF) * 8))
        guard pde & 1 != 0, pde & 0x80 != 0 else { return nil }
        return (pde & 0xF_FFFF_FFE0_0000) | (virtual & 0x1F_FFFF)
    }

    @Test func tableEntriesHaveTheExpectedValues() throws {
        #expect(try memory.read(UInt64.self, at: 0x9000) == 0xA003)
        #expect(try memory.read(UInt64.self, at: 0x9008) == 0)
        for index in 0..<4 {
            #expect(try memory.read(UInt64.self, at: 0xA000 + UInt64(index * 8)) == 0xB003 + UInt64(index) * 0x1000)
        }
        #expect(try memory.read(UInt64.self, at: 0xA020) == 0)
        #expect(try memory.read(UInt64.self, at: 0xB000) == 0x83)
        #expect(try memory.read(UInt64.self, at: 0xB008) == 0x20_0083)
        // First page of the MMIO hole: uncached device memory.
        #expect(try memory.read(UInt64.self, at: 0xE000) == 0xC000_0000 | 0x9B)
    }

    @Test(arguments: [UInt64(0), 0x7000, 0x10_0000, 0x123_4567, 0xBFFF_FFFF, 0xC000_0000, 0xFEC0_0000, 0xFEE0_0000, 0xFEE0_00F0, 0xFFFF_FFFF])
    func lowFourGiBAreIdentityMapped(address: UInt64) throws {
        #expect(try translate(address) == address)
    }

    @Test func nothingAboveFourGiBIsMapped() throws {
        #expect(try translate(0x1_0000_0000) == nil)
        #expect(try translate(0xFFFF_FFFF_8000_0000) == nil)
    }

    @Test func everyLargePageMapsToItself() throws {
        for page in 0..<2048 {
            let entry: UInt64 = try memory.read(at: 0xB000 + UInt64(page * 8))
            #expect(entry & ~0xFFF == UInt64(page) << 21)
            #expect(entry & 0x83 == 0x83)
        }
    }
}
