import SwiftletCore
import Testing
@testable import X86Boot

/// MADT layout from ACPI 6.5 §5.2.12: after the header, the local APIC address and flags, then
/// entries of (type, length, …): 0 Processor Local APIC (8 bytes), 1 I/O APIC (12),
/// 2 Interrupt Source Override (10), 4 Local APIC NMI (6).
@Suite struct MADTTests {
    struct Entry {
        var type: UInt8
        var bytes: [UInt8]
    }

    /// Walks the entries by their own length fields; fails unless they cover the table exactly.
    private func entries(_ madt: [UInt8]) throws -> [Entry] {
        var result: [Entry] = []
        var offset = 44
        while offset < madt.count {
            let length = Int(madt[offset + 1])
            try #require(length >= 2 && offset + length <= madt.count)
            result.append(Entry(type: madt[offset], bytes: Array(madt[offset..<offset + length])))
            offset += length
        }
        try #require(offset == madt.count)
        return result
    }

    @Test(arguments: [1, 2, 32])
    func oneEnabledLocalAPICPerVCPU(vcpuCount: Int) throws {
        let madt = try standardACPITables(vcpuCount: vcpuCount).table("APIC")
        #expect(madt.count == 44 + 8 * vcpuCount + 12 + 10 * 2 + 6)
        #expect(FirmwareChecksum.isValid(madt))
        #expect(madt.loadLittleEndian(UInt32.self, at: 36) == 0xFEE0_0000)
        #expect(madt.loadLittleEndian(UInt32.self, at: 40) == 1, "PCAT_COMPAT: KVM emulates the 8259 pair")
        let processors = try entries(madt).filter { $0.type == 0 }
        #expect(processors.count == vcpuCount)
        for (index, processor) in processors.enumerated() {
            #expect(processor.bytes.count == 8)
            #expect(processor.bytes[2] == UInt8(index), "ACPI processor UID")
            #expect(processor.bytes[3] == UInt8(index), "APIC ID")
            #expect(processor.bytes.loadLittleEndian(UInt32.self, at: 4) == 1, "enabled")
        }
    }

    @Test func ioAPICOverridesAndNMI() throws {
        let all = try entries(try standardACPITables(vcpuCount: 32).table("APIC"))
        #expect(all.map(\.type) == Array(repeating: 0, count: 32) + [1, 2, 2, 4], "processors first, then the rest")
        let ioAPIC = try #require(all.first { $0.type == 1 }).bytes
        #expect(ioAPIC.count == 12)
        #expect(ioAPIC[2] == 0, "IOAPIC ID")
        #expect(ioAPIC.loadLittleEndian(UInt32.self, at: 4) == 0xFEC0_0000)
        #expect(ioAPIC.loadLittleEndian(UInt32.self, at: 8) == 0, "GSI base")

        let overrides = all.filter { $0.type == 2 }.map(\.bytes)
        // Bus 0 (ISA), IRQ 0 → GSI 2 conforming; IRQ 9 (the SCI) → GSI 9, level (0b11 << 2) active high (0b01).
        #expect(overrides == [
            [2, 10, 0, 0, 2, 0, 0, 0, 0x00, 0x00],
            [2, 10, 0, 9, 9, 0, 0, 0, 0x0D, 0x00],
        ])
        let nmi = try #require(all.first { $0.type == 4 }).bytes
        #expect(nmi == [4, 6, 0xFF, 0, 0, 1], "every processor's LINT1, conforming")
    }

    @Test func overridesAreTheCallersChoice() throws {
        let custom = [MADT.InterruptSourceOverride(source: 5, gsi: 5, flags: .levelActiveLow)]
        let madt = try ACPITables.build(
            vcpuCount: 1, pciMMIOWindow: addressRange(0xC000_0000, 0x1000), pciIOWindow: addressRange(0x1000, 0x1000),
            interruptOverrides: custom
        ).table("APIC")
        #expect(try entries(madt).filter { $0.type == 2 }.map(\.bytes) == [[2, 10, 0, 5, 5, 0, 0, 0, 0x0F, 0x00]])
    }
}
