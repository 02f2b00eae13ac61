import SwiftletCore
import Testing
@testable import X86Boot

func addressRange(_ start: UInt64, _ length: UInt64) -> AddressRange { AddressRange(start: start, length: length)! }

/// The machine shape most tests use: a PCI MMIO window at the bottom of the MMIO hole, room
/// for virtio-mmio transports above it, and a port window above the legacy devices.
func standardACPITables(vcpuCount: Int = 1, virtioMMIODevices: [VirtioMMIODeviceDescription] = []) throws -> ACPITables {
    try ACPITables.build(
        vcpuCount: vcpuCount, pciMMIOWindow: addressRange(0xC000_0000, 0x1000_0000), pciIOWindow: addressRange(0x1000, 0xF000),
        virtioMMIODevices: virtioMMIODevices)
}

extension ACPITables {
    func table(_ name: String) throws -> [UInt8] {
        try #require(regions.first { $0.name == name }).bytes
    }
}

@Suite struct ACPITablesTests {
    @Test func everyTableHasItsSignatureLengthAndChecksum() throws {
        let tables = try standardACPITables(vcpuCount: 4)
        #expect(tables.regions.map(\.name) == ["RSDP", "XSDT", "FACP", "APIC", "DSDT"])
        for region in tables.regions where region.name != "RSDP" {
            #expect(Array(region.bytes.prefix(4)) == Array(region.name.utf8))
            #expect(region.bytes.loadLittleEndian(UInt32.self, at: 4) == UInt32(region.bytes.count), "\(region.name) length")
            #expect(FirmwareChecksum.isValid(region.bytes), "\(region.name) checksum")
            #expect(Array(region.bytes[10..<16]) == Array("SWIFTL".utf8))
            #expect(Array(region.bytes[16..<24]) == Array("SWIFTLET".utf8))
        }
    }

    @Test func aCorruptedByteBreaksTheChecksum() throws {
        var madt = try standardACPITables().table("APIC")
        madt[40] &+= 1
        #expect(!FirmwareChecksum.isValid(madt))
    }

    @Test func rsdpIsRevision2AndPointsAtTheXSDT() throws {
        let tables = try standardACPITables()
        let rsdp = try tables.table("RSDP")
        #expect(tables.rsdpAddress == 0xE_0000)
        #expect(rsdp.count == 36)
        #expect(Array(rsdp.prefix(8)) == Array("RSD PTR ".utf8))
        #expect(FirmwareChecksum.isValid(rsdp.prefix(20)), "ACPI 1.0 checksum over the first 20 bytes")
        #expect(FirmwareChecksum.isValid(rsdp), "extended checksum over all 36 bytes")
        #expect(rsdp[15] == 2)
        #expect(rsdp.loadLittleEndian(UInt32.self, at: 16) == 0, "no RSDT")
        #expect(rsdp.loadLittleEndian(UInt32.self, at: 20) == 36)
        let xsdt = try #require(tables.regions.first { $0.name == "XSDT" })
        #expect(rsdp.loadLittleEndian(UInt64.self, at: 24) == xsdt.address.rawValue)
    }

    @Test func xsdtListsTheFADTAndTheMADT() throws {
        let tables = try standardACPITables()
        let xsdt = try tables.table("XSDT")
        #expect(xsdt.count == 36 + 16)
        let addresses = tables.regions.filter { ["FACP", "APIC"].contains($0.name) }.map(\.address.rawValue)
        #expect([xsdt.loadLittleEndian(UInt64.self, at: 36), xsdt.loadLittleEndian(UInt64.self, at: 44)] == addresses)
    }

    @Test func fadtIsHardwareReducedWithSleepAndResetRegisters() throws {
        let tables = try standardACPITables()
        let fadt = try tables.table("FACP")
        #expect(fadt.count == 276)
        #expect(fadt[8] == 6, "revision")
        #expect(fadt[131] == 5, "minor version")
        let flags = try #require(fadt.loadLittleEndian(UInt32.self, at: 112))
        #expect(flags & (1 << 20) != 0, "HW_REDUCED_ACPI")
        #expect(flags & (1 << 10) != 0, "RESET_REG_SUP")
        #expect(flags & (1 << 4 | 1 << 5) == 1 << 4 | 1 << 5, "no fixed power or sleep button")
        #expect(fadt.loadLittleEndian(UInt16.self, at: 109) == 0b110, "8042 present, no VGA")
        #expect(fadt.loadLittleEndian(UInt16.self, at: 46) == 9, "SCI_INT")
        let dsdt = try #require(tables.regions.first { $0.name == "DSDT" })
        #expect(fadt.loadLittleEndian(UInt32.self, at: 40) == 0, "only the 64-bit DSDT pointer")
        #expect(fadt.loadLittleEndian(UInt64.self, at: 140) == dsdt.address.rawValue, "X_DSDT")
        // Generic address structures: System I/O, 8 bits wide, offset 0, byte access, port.
        let ioByte: (UInt16) -> [UInt8] = { [1, 8, 0, 1] + .littleEndian(UInt64($0)) }
        #expect(Array(fadt[116..<128]) == ioByte(0x602), "RESET_REG")
        #expect(fadt[128] == 0x01, "RESET_VALUE")
        #expect(Array(fadt[244..<256]) == ioByte(0x600), "SLEEP_CONTROL_REG")
        #expect(Array(fadt[256..<268]) == ioByte(0x601), "SLEEP_STATUS_REG")
        #expect(Array(fadt[268..<276]) == Array("SWIFTLET".utf8), "hypervisor vendor identity")
        // The fixed-hardware blocks a hardware-reduced platform does not have stay zero.
        #expect(fadt[148..<244].allSatisfy { $0 == 0 }, "X_PM1a_EVT_BLK … X_GPE1_BLK")
        #expect(fadt[56..<88].allSatisfy { $0 == 0 }, "PM1a_EVT_BLK … GPE1_BLK")
    }

    @Test func placementKeepsTablesApartAlignedAndInsideTheArea() throws {
        let tables = try standardACPITables(
            vcpuCount: 32, virtioMMIODevices: [VirtioMMIODeviceDescription(window: addressRange(0xD000_0000, 0x1000), gsi: 5)])
        let ranges = tables.regions.compactMap(\.range)
        #expect(ranges.count == 5)
        for (index, range) in ranges.enumerated() {
            #expect(range.start % 16 == 0)
            for other in ranges[(index + 1)...] { #expect(!range.overlaps(other), "\(range) and \(other)") }
        }
        for region in tables.regions.dropFirst() { #expect(ACPILayout.tablesArea.contains(try #require(region.range))) }
        #expect(AddressRange(start: 0xE_0000, length: 0x2_0000)!.contains(ranges[0]), "the RSDP lies where Linux scans")
    }

    @Test func vcpuCountOutsideTheMADTsRangeIsRefused() {
        #expect(throws: FirmwareTableError.self) { try standardACPITables(vcpuCount: 0) }
        #expect(throws: FirmwareTableError.self) { try standardACPITables(vcpuCount: 255) }
    }

    @Test func placementErrorsAreReported() {
        let mmio = addressRange(0xC000_0000, 0x1000_0000)
        let io = addressRange(0x1000, 0xF000)
        #expect(throws: FirmwareTableError.self, "misaligned RSDP") {
            try ACPITables.build(vcpuCount: 1, pciMMIOWindow: mmio, pciIOWindow: io, rsdpAddress: 0xE_0008)
        }
        #expect(throws: FirmwareTableError.self, "RSDP inside the tables area") {
            try ACPITables.build(vcpuCount: 1, pciMMIOWindow: mmio, pciIOWindow: io, rsdpAddress: 0xE_1000)
        }
        #expect(throws: FirmwareTableError.self, "area too small for the tables") {
            try ACPITables.build(vcpuCount: 1, pciMMIOWindow: mmio, pciIOWindow: io, tablesArea: addressRange(0xE_1000, 0x100))
        }
    }

    @Test(arguments: [
        addressRange(0xC00, 0x400),  // 0xCF8–0xCFF
        addressRange(0x3F0, 0x10),  // COM1
        addressRange(0x600, 1),  // sleep control
        addressRange(0x602, 0x100),  // reset
        addressRange(0x80, 0x10),  // POST port and friends
    ])
    func anIOWindowOverPlatformPortsIsRefused(window: AddressRange) {
        #expect(throws: FirmwareTableError.self) {
            try ACPITables.build(vcpuCount: 1, pciMMIOWindow: addressRange(0xC000_0000, 0x1000_0000), pciIOWindow: window)
        }
    }

    @Test func overlappingMMIOWindowsAreRefused() {
        let mmio = addressRange(0xC000_0000, 0x1000_0000)
        let io = addressRange(0x1000, 0xF000)
        let insidePCI = VirtioMMIODeviceDescription(window: addressRange(0xC800_0000, 0x1000), gsi: 5)
        let first = VirtioMMIODeviceDescription(window: addressRange(0xD000_0000, 0x1000), gsi: 5)
        let overlapping = VirtioMMIODeviceDescription(window: addressRange(0xD000_0800, 0x1000), gsi: 6)
        #expect(throws: FirmwareTableError.self) {
            try ACPITables.build(vcpuCount: 1, pciMMIOWindow: mmio, pciIOWindow: io, virtioMMIODevices: [insidePCI])
        }
        #expect(throws: FirmwareTableError.self) {
            try ACPITables.build(vcpuCount: 1, pciMMIOWindow: mmio, pciIOWindow: io, virtioMMIODevices: [first, overlapping])
        }
        #expect(throws: FirmwareTableError.self) {
            try ACPITables.build(
                vcpuCount: 1, pciMMIOWindow: mmio, pciIOWindow: io, pciMMIO64Window: addressRange(0xCFFF_F000, 0x1_0000))
        }
        #expect(throws: Never.self) {
            try ACPITables.build(vcpuCount: 1, pciMMIOWindow: mmio, pciIOWindow: io, virtioMMIODevices: [first])
        }
    }

    @Test func theTablesAreAPureFunctionOfTheirInputs() throws {
        #expect(try standardACPITables(vcpuCount: 3) == standardACPITables(vcpuCount: 3))
        #expect(try standardACPITables(vcpuCount: 3) != standardACPITables(vcpuCount: 4))
    }
}

@Suite struct ACPIPowerRegistersTests {
    @Test func onlyS5WithSleepEnableIsAPowerOff() {
        // Linux writes SLP_TYP (5, from \_S5) << 2 | SLP_EN (bit 5) = 0x34.
        #expect(ACPIPowerRegisters.isPowerOffRequest(sleepControlWrite: 0x34))
        #expect(!ACPIPowerRegisters.isPowerOffRequest(sleepControlWrite: 0x14), "SLP_EN clear")
        #expect(!ACPIPowerRegisters.isPowerOffRequest(sleepControlWrite: 0x20), "S0")
        #expect(!ACPIPowerRegisters.isPowerOffRequest(sleepControlWrite: 0x2C), "S3")
        #expect(!ACPIPowerRegisters.isPowerOffRequest(sleepControlWrite: 0x80), "WAK_STS, written to the status register")
    }

    @Test func theS5PackageAnnouncesTheSleepTypeTheHandlerExpects() throws {
        let nodes = try AMLTestParser.parse(Array(try standardACPITables().table("DSDT").dropFirst(36)))
        #expect(nodes.value(named: "_S5_") == .package([.integer(UInt64(ACPIPowerRegisters.s5SleepType)), .integer(0)]))
        #expect(ACPIPowerRegisters.isPowerOffRequest(sleepControlWrite: ACPIPowerRegisters.s5SleepType << 2 | 0x20))
    }
}
