import SwiftletCore
import Testing
@testable import X86Boot

/// Intel MultiProcessor Specification 1.4, chapter 4: the 16-byte floating pointer, the
/// 44-byte configuration table header, and entries of 20 bytes (processor) or 8 bytes (bus,
/// I/O APIC, I/O interrupt, local interrupt).
@Suite struct MPTableTests {
    private func entries(_ configuration: ArraySlice<UInt8>) throws -> [[UInt8]] {
        var result: [[UInt8]] = []
        var offset = configuration.startIndex + 44
        while offset < configuration.endIndex {
            let size = configuration[offset] == 0 ? 20 : 8
            try #require(offset + size <= configuration.endIndex)
            result.append(Array(configuration[offset..<offset + size]))
            offset += size
        }
        return result
    }

    @Test(arguments: [1, 32])
    func floatingPointerAndConfigurationTable(vcpuCount: Int) throws {
        let region = try MPTable.build(vcpuCount: vcpuCount)
        #expect(region.address == 0x9_FC00)
        let bytes = region.bytes
        let pointer = bytes.prefix(16)
        #expect(Array(pointer.prefix(4)) == Array("_MP_".utf8))
        #expect(pointer.loadLittleEndian(UInt32.self, at: 4) == 0x9_FC10)
        #expect(pointer[8] == 1, "length in 16-byte units")
        #expect(pointer[9] == 4, "MP 1.4")
        #expect(FirmwareChecksum.isValid(pointer))
        #expect(pointer[11...15].allSatisfy { $0 == 0 }, "configuration table present, no IMCR")

        let configuration = bytes[16...]
        #expect(Array(configuration.prefix(4)) == Array("PCMP".utf8))
        #expect(configuration.loadLittleEndian(UInt16.self, at: 4) == UInt16(configuration.count))
        #expect(configuration[configuration.startIndex + 6] == 4)
        #expect(FirmwareChecksum.isValid(configuration))
        #expect(configuration.loadLittleEndian(UInt16.self, at: 34) == UInt16(vcpuCount + 20))
        #expect(configuration.loadLittleEndian(UInt32.self, at: 36) == 0xFEE0_0000)
        #expect(configuration.count == 44 + 20 * vcpuCount + 8 * 20)
    }

    @Test(arguments: [1, 32])
    func entries(vcpuCount: Int) throws {
        let all = try entries(try MPTable.build(vcpuCount: vcpuCount).bytes[16...])
        let processors = all.filter { $0[0] == 0 }
        #expect(processors.count == vcpuCount)
        for (index, processor) in processors.enumerated() {
            #expect(processor[1] == UInt8(index), "APIC ID")
            #expect(processor[3] == (index == 0 ? 0x03 : 0x01), "enabled, and the bootstrap processor only on vCPU 0")
        }
        #expect(all.filter { $0[0] == 1 } == [[1, 0] + Array("ISA   ".utf8)])
        let ioAPICID = UInt8(vcpuCount)
        #expect(all.filter { $0[0] == 2 } == [[2, ioAPICID, 0x11, 0x01, 0x00, 0x00, 0xC0, 0xFE]])
        let ioInterrupts = all.filter { $0[0] == 3 }
        #expect(ioInterrupts == (0..<16).map { irq in [3, 0, 0, 0, 0, UInt8(irq), ioAPICID, UInt8(irq)] })
        #expect(all.filter { $0[0] == 4 } == [
            [4, 3, 0, 0, 0, 0, 0xFF, 0],  // ExtINT on LINT0
            [4, 1, 0, 0, 0, 0, 0xFF, 1],  // NMI on LINT1
        ])
    }

    @Test func sizeLimitsAndPlacementAreChecked() throws {
        #expect(try MPTable.build(vcpuCount: 40).bytes.count <= 0x400)
        #expect(throws: FirmwareTableError.self, "41 vCPUs need more than the last KiB") { try MPTable.build(vcpuCount: 41) }
        #expect(throws: Never.self) { try MPTable.build(vcpuCount: 254, area: addressRange(0xF_0000, 0x1_0000)) }
        #expect(throws: FirmwareTableError.self) { try MPTable.build(vcpuCount: 0) }
        #expect(throws: FirmwareTableError.self) { try MPTable.build(vcpuCount: 255, area: addressRange(0xF_0000, 0x1_0000)) }
        #expect(throws: FirmwareTableError.self, "misaligned") { try MPTable.build(vcpuCount: 1, area: addressRange(0x9_FC08, 0x400)) }
        #expect(throws: FirmwareTableError.self, "above 4 GiB") {
            try MPTable.build(vcpuCount: 1, area: addressRange(0x1_0000_0000, 0x400))
        }
    }
}
