import SwiftletCore
import Testing
@testable import X86Boot

@Suite struct DSDTTests {
    private func namespace(_ tables: ACPITables) throws -> [AMLTestParser.Node] {
        let dsdt = try tables.table("DSDT")
        #expect(dsdt[8] == 2, "revision 2: 64-bit AML integers")
        return try AMLTestParser.parse(Array(dsdt.dropFirst(36)))
    }

    private func systemBus(_ nodes: [AMLTestParser.Node]) throws -> [AMLTestParser.Node] {
        guard case .scope("\\_SB_", let children) = try #require(nodes.first) else {
            Issue.record("the DSDT does not start with Scope (\\_SB)")
            return []
        }
        return children
    }

    private func resources(_ device: [AMLTestParser.Node]) throws -> [[UInt8]] {
        guard case .buffer(let template) = try #require(device.value(named: "_CRS")) else {
            Issue.record("_CRS is not a buffer")
            return []
        }
        #expect(FirmwareChecksum.isValid(template), "end tag checksum")
        return try #require(splitResourceTemplate(template))
    }

    @Test func theWholeDSDTReadsBack() throws {
        let devices = [
            VirtioMMIODeviceDescription(window: addressRange(0xD000_0000, 0x1000), gsi: 5),
            VirtioMMIODeviceDescription(window: addressRange(0xD000_1000, 0x1000), gsi: 6, trigger: .level),
        ]
        let nodes = try namespace(try standardACPITables(virtioMMIODevices: devices))
        #expect(nodes.count == 2, "\\_SB and \\_S5")
        let bus = try systemBus(nodes)
        let names = bus.compactMap { node -> String? in
            if case .device(let name, _) = node { return name }
            return nil
        }
        #expect(names == ["PCI0", "COM1", "VR00", "VR01"])
    }

    @Test func pciHostBridge() throws {
        let pci = try #require(try systemBus(try namespace(try standardACPITables())).device(named: "PCI0"))
        // EISAID("PNP0A03") as a DWord: 0x030AD041.
        #expect(pci.value(named: "_HID") == .integer(0x030A_D041))
        #expect(pci.value(named: "_SEG") == .integer(0))
        #expect(pci.value(named: "_UID") == .integer(0))
        #expect(pci.value(named: "_BBN") == .integer(0))
        let crs = try resources(pci)
        #expect(crs.map { $0[0] } == [0x88, 0x47, 0x88, 0x87, 0x79])
        #expect(crs[0] == (try ResourceDescriptor.wordBusNumber(0...0)).bytes)
        #expect(crs[1] == [0x47, 0x01, 0xF8, 0x0C, 0xF8, 0x0C, 0x01, 0x08], "configuration ports 0xCF8-0xCFF")
        #expect(crs[2][3] == 1 && crs[2].loadLittleEndian(UInt16.self, at: 8) == 0x1000 && crs[2].loadLittleEndian(UInt16.self, at: 10) == 0xFFFF)
        #expect(crs[3].loadLittleEndian(UInt32.self, at: 10) == 0xC000_0000 && crs[3].loadLittleEndian(UInt32.self, at: 14) == 0xCFFF_FFFF)
    }

    @Test func a64BitWindowAddsAQWordMemoryDescriptor() throws {
        let tables = try ACPITables.build(
            vcpuCount: 1, pciMMIOWindow: addressRange(0xC000_0000, 0x1000_0000), pciIOWindow: addressRange(0x1000, 0xF000),
            pciMMIO64Window: addressRange(0x100_0000_0000, 0x10_0000_0000))
        let crs = try resources(try #require(try systemBus(try namespace(tables)).device(named: "PCI0")))
        #expect(crs.map { $0[0] } == [0x88, 0x47, 0x88, 0x87, 0x8A, 0x79])
        #expect(crs[4].loadLittleEndian(UInt64.self, at: 14) == 0x100_0000_0000)
    }

    @Test func com1() throws {
        let com1 = try #require(try systemBus(try namespace(try standardACPITables())).device(named: "COM1"))
        #expect(com1.value(named: "_HID") == .integer(0x0105_D041), "EISAID(\"PNP0501\")")
        #expect(com1.value(named: "_UID") == .integer(1))
        #expect(try resources(com1).dropLast() == [
            [0x47, 0x01, 0xF8, 0x03, 0xF8, 0x03, 0x01, 0x08],
            [0x89, 0x06, 0x00, 0x03, 0x01, 0x04, 0x00, 0x00, 0x00],
        ])
    }

    @Test func virtioMMIODevices() throws {
        let devices = (0..<17).map {
            VirtioMMIODeviceDescription(window: addressRange(0xD000_0000 + UInt64($0) * 0x1000, 0x1000), gsi: 5 + UInt32($0))
        }
        let bus = try systemBus(try namespace(try standardACPITables(virtioMMIODevices: devices)))
        let last = try #require(bus.device(named: "VR10"), "the 17th device is VR10 (hex)")
        #expect(last.value(named: "_HID") == .string("LNRO0005"))
        #expect(last.value(named: "_UID") == .integer(16))
        #expect(try resources(last).dropLast() == [
            (try ResourceDescriptor.memory32Fixed(addressRange(0xD001_0000, 0x1000))).bytes,
            [0x89, 0x06, 0x00, 0x03, 0x01, 21, 0x00, 0x00, 0x00],
        ])
    }

    @Test func virtioMMIOWindowsMustLieBelow4GiB() {
        let high = VirtioMMIODeviceDescription(window: addressRange(0x1_0000_0000, 0x1000), gsi: 5)
        #expect(throws: FirmwareTableError.self) { try standardACPITables(virtioMMIODevices: [high]) }
    }

    @Test func atMost256VirtioMMIODevicesHaveNames() throws {
        let devices = (0..<257).map {
            VirtioMMIODeviceDescription(window: addressRange(0xD000_0000 + UInt64($0) * 0x1000, 0x1000), gsi: 5)
        }
        #expect(throws: Never.self) { try standardACPITables(virtioMMIODevices: Array(devices.prefix(256))) }
        #expect(throws: FirmwareTableError.self) { try standardACPITables(virtioMMIODevices: devices) }
    }

    @Test func aDSDTLongerThan4KiBStillReadsBack() throws {
        // 256 devices push the \_SB scope's PkgLength into its 3-byte form.
        let devices = (0..<256).map {
            VirtioMMIODeviceDescription(window: addressRange(0xD000_0000 + UInt64($0) * 0x1000, 0x1000), gsi: 5)
        }
        let dsdt = try standardACPITables(virtioMMIODevices: devices).table("DSDT")
        #expect(dsdt.count > 0x1000)
        #expect(dsdt[37] >> 6 == 2, "3-byte PkgLength")
        #expect(try systemBus(try namespace(try standardACPITables(virtioMMIODevices: devices))).count == 258)
    }
}
