import GuestMemory
import SwiftletCore
import Testing
@testable import X86Boot

@Suite struct BootFirmwareTests {
    @Test(arguments: [1, 4, 32])
    func tablesLieInTheReservedBIOSAreaWithoutOverlapping(vcpus: Int) throws {
        let firmware = try BootFirmware.build(vcpuCount: vcpus)
        #expect(firmware.acpiRSDPAddress == 0xE_0000)
        #expect(Set(firmware.regions.map(\.name)) == ["RSDP", "XSDT", "FACP", "APIC", "DSDT", "MP table", "reset vector"])
        let ranges = try firmware.regions.map { try #require($0.range) }
        for (index, range) in ranges.enumerated() {
            #expect(X86Layout.biosReservedArea.contains(range))
            for other in ranges[(index + 1)...] { #expect(!range.overlaps(other)) }
        }
        #expect(firmware.regions.first { $0.name == "MP table" }?.address == 0x9_FC00)
    }

    /// Real-mode encodings (SDM vol. 2): B0 ib = mov al, imm8; BA iw = mov dx, imm16;
    /// EE = out dx, al; FA = cli; F4 = hlt; EB cb = jmp rel8 (FD = -3: back to the hlt).
    @Test func theResetVectorWritesTheACPIResetValueToTheResetRegister() throws {
        #expect(ResetVector.code == [0xB0, 0x01, 0xBA, 0x02, 0x06, 0xEE, 0xFA, 0xF4, 0xEB, 0xFD])
        let region = ResetVector.region
        #expect(region.address == 0xF_FFF0)
        #expect((region.range?.end ?? .max) <= 0x10_0000)
    }

    @Test func tooManyVCPUsForTheTablesIsAnErrorNotATrap() {
        #expect(throws: FirmwareTableError.self) { try BootFirmware.build(vcpuCount: 300) }
    }

    /// boot_params.acpi_rsdp_addr is the u64 at zero page offset 0x070
    /// (Documentation/arch/x86/zero-page.rst); the tables are copied where they say.
    @Test func bootWritesTheTablesAndTheRSDPAddress() throws {
        let memory = try lowRAM(64 << 20)
        let firmware = try BootFirmware.build(vcpuCount: 2)
        _ = try LinuxBoot.prepare(memory: memory, kernel: SyntheticBzImage().bytes, initrd: nil, commandLine: "", firmware: firmware)
        #expect(try memory.read(UInt64.self, at: X86Layout.zeroPageAddress + 0x070) == 0xE_0000)
        for region in firmware.regions {
            #expect(try memory.readBytes(at: region.address, count: region.bytes.count) == region.bytes, "\(region)")
        }
        #expect(try memory.readBytes(at: 0xE_0000, count: 8) == Array("RSD PTR ".utf8))
    }

    @Test func withoutFirmwareTheRSDPAddressStaysZero() throws {
        let memory = try lowRAM(64 << 20)
        try memory.fill(0xEE, at: X86Layout.zeroPageAddress, count: 0x1000)
        _ = try LinuxBoot.prepare(memory: memory, kernel: SyntheticBzImage().bytes, initrd: nil, commandLine: "")
        #expect(try memory.read(UInt64.self, at: X86Layout.zeroPageAddress + 0x070) == 0)
    }
}
