@testable import Machine
import Testing
import X86Boot

@Suite struct KernelCommandLineTests {
    private func commandLine(_ base: String, transport: VirtioTransportKind, deviceCount: Int) throws -> String {
        Machine.kernelCommandLine(base, mmioPlacements: try Machine.virtioMMIOPlacements(transport: transport, deviceCount: deviceCount))
    }

    @Test func virtioMMIOAppendsOneWordPerDevice() throws {
        #expect(try commandLine("console=ttyS0", transport: .mmio, deviceCount: 2)
            == "console=ttyS0 virtio_mmio.device=4K@0xd0000000:5 virtio_mmio.device=4K@0xd0001000:6")
        #expect(try commandLine("", transport: .mmio, deviceCount: 1) == "virtio_mmio.device=4K@0xd0000000:5")
    }

    @Test func pciOrNoDevicesLeaveTheCommandLineAlone() throws {
        #expect(try commandLine("console=ttyS0", transport: .pci, deviceCount: 3) == "console=ttyS0")
        #expect(try commandLine("console=ttyS0", transport: .mmio, deviceCount: 0) == "console=ttyS0")
    }

    @Test func moreDevicesThanInterruptLinesAreRefused() throws {
        #expect(throws: MachineError.self) { try Machine.virtioMMIOPlacements(transport: .mmio, deviceCount: 40) }
    }

    @Test func theDSDTDescribesTheSameWindowsTheCommandLineNames() throws {
        let placements = try Machine.virtioMMIOPlacements(transport: .mmio, deviceCount: 2)
        let firmware = try BootFirmware.build(vcpuCount: 1, virtioMMIODevices: placements)
        let dsdt = try #require(firmware.regions.first { $0.name == "DSDT" })
        // _HID "LNRO0005" appears once per device in the AML as a string.
        let hid = Array("LNRO0005".utf8)
        let occurrences = (0...(dsdt.bytes.count - hid.count)).filter { Array(dsdt.bytes[$0..<($0 + hid.count)]) == hid }.count
        #expect(occurrences == 2)
        let none = try BootFirmware.build(vcpuCount: 1, virtioMMIODevices: [])
        let plainDSDT = try #require(none.regions.first { $0.name == "DSDT" })
        #expect(plainDSDT.bytes.count < dsdt.bytes.count)
    }
}
