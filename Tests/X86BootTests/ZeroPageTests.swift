import GuestMemory
import SwiftletCore
import Testing
@testable import X86Boot

@Suite struct ZeroPageTests {
    private func e820Table(in memory: GuestMemory) throws -> [E820Entry] {
        let base = X86Layout.zeroPageAddress
        let count = Int(try memory.read(UInt8.self, at: base + 0x1E8))
        return try (0..<count).map { index in
            let slot = base + 0x2D0 + UInt64(index * 20)
            return E820Entry(
                address: try memory.read(at: slot), size: try memory.read(at: slot + 8), type: try memory.read(at: slot + 16))
        }
    }

    @Test func loaderFieldsSitAtTheirBootProtocolOffsets() throws {
        let memory = try lowRAM(64 << 20)
        // Stale bytes anywhere in the page must not survive.
        try memory.fill(0xEE, at: X86Layout.zeroPageAddress, count: 0x1000)
        _ = try LinuxBoot.prepare(memory: memory, kernel: SyntheticBzImage().bytes, initrd: [7], commandLine: "quiet")
        let base = X86Layout.zeroPageAddress
        #expect(try memory.read(UInt8.self, at: base + 0x210) == 0xFF)  // type_of_loader
        #expect(try memory.read(UInt8.self, at: base + 0x211) == 0x81)  // LOADED_HIGH | CAN_USE_HEAP
        #expect(try memory.read(UInt16.self, at: base + 0x224) == 0xFE00)  // heap_end_ptr
        #expect(try memory.read(UInt16.self, at: base + 0x1FE) == 0xAA55)
        #expect(try memory.read(UInt32.self, at: base + 0x228) == 0x2_0000)
        #expect(try memory.read(UInt32.self, at: base + 0x0C8) == 0)  // ext_cmd_line_ptr
        #expect(try memory.read(UInt32.self, at: base + 0x21C) == 1)
        #expect(try memory.read(UInt32.self, at: base + 0x218) == (64 << 20) - 0x1000)
        #expect(try memory.read(UInt64.self, at: base + 0x070) == 0)  // acpi_rsdp_addr
        #expect(try memory.read(UInt64.self, at: base + 0xFF8) == 0)
    }

    @Test func e820ForSmallRAM() throws {
        let memory = try lowRAM(64 << 20)
        _ = try LinuxBoot.prepare(memory: memory, kernel: SyntheticElf().bytes, initrd: nil, commandLine: "")
        #expect(try e820Table(in: memory) == [
            E820Entry(address: 0, size: 0x9_FC00, type: 1),
            E820Entry(address: 0x9_FC00, size: 0x6_0400, type: 2),
            E820Entry(address: 0x10_0000, size: (64 << 20) - 0x10_0000, type: 1),
        ])
    }

    @Test func e820ForRAMAboveTheHole() throws {
        // 5 GiB: 3 GiB below the MMIO hole, 2 GiB from 4 GiB (the mapping is lazy).
        let memory = try GuestMemory(layout: try #require(X86Layout.ramLayout(size: 5 << 30)))
        #expect(memory.regions.count == 2)
        let result = try LinuxBoot.prepare(memory: memory, kernel: SyntheticElf().bytes, initrd: [1, 2], commandLine: "")
        #expect(try e820Table(in: memory) == [
            E820Entry(address: 0, size: 0x9_FC00, type: 1),
            E820Entry(address: 0x9_FC00, size: 0x6_0400, type: 2),
            E820Entry(address: 0x10_0000, size: 0xC000_0000 - 0x10_0000, type: 1),
            E820Entry(address: 0x1_0000_0000, size: 2 << 30, type: 1),
        ])
        // initrd_addr_max (0x37FFFFFF) rather than the 3 GiB end of low RAM bounds the initrd.
        let range = try #require(result.initrdRange)
        #expect(range.end! <= 0x3800_0000 && range.start == 0x3800_0000 - 0x1000)
    }

    @Test func e820MapIsAPureFunctionOfTheRegions() {
        let regions = [
            AddressRange(start: 0x1_0000_0000, length: 0x1000_0000)!,
            AddressRange(start: 0, length: 0x8_0000)!,
        ]
        // A region ending below the EBDA and an unsorted list still give a sorted map.
        #expect(E820Entry.map(for: regions) == [
            E820Entry(address: 0, size: 0x8_0000, type: 1),
            E820Entry(address: 0x9_FC00, size: 0x6_0400, type: 2),
            E820Entry(address: 0x1_0000_0000, size: 0x1000_0000, type: 1),
        ])
    }

    @Test func e820MapHasAtMost128Entries() {
        let regions = (0..<200).map { AddressRange(start: 0x1_0000_0000 + UInt64($0) * 0x2000, length: 0x1000)! }
        let map = E820Entry.map(for: regions)
        #expect(map.count == 128)
        #expect(map.first == E820Entry(address: 0x9_FC00, size: 0x6_0400, type: 2))
    }
}
