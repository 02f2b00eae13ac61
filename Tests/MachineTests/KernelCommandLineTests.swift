@testable import Machine
import Testing

@Suite struct KernelCommandLineTests {
    @Test func virtioMMIOAppendsOneWordPerDevice() throws {
        #expect(try Machine.kernelCommandLine("console=ttyS0", transport: .mmio, deviceCount: 2)
            == "console=ttyS0 virtio_mmio.device=4K@0xd0000000:5 virtio_mmio.device=4K@0xd0001000:6")
        #expect(try Machine.kernelCommandLine("", transport: .mmio, deviceCount: 1) == "virtio_mmio.device=4K@0xd0000000:5")
    }

    @Test func pciOrNoDevicesLeaveTheCommandLineAlone() throws {
        #expect(try Machine.kernelCommandLine("console=ttyS0", transport: .pci, deviceCount: 3) == "console=ttyS0")
        #expect(try Machine.kernelCommandLine("console=ttyS0", transport: .mmio, deviceCount: 0) == "console=ttyS0")
    }

    @Test func moreDevicesThanInterruptLinesAreRefused() throws {
        #expect(throws: MachineError.self) { try Machine.kernelCommandLine("", transport: .mmio, deviceCount: 40) }
    }
}
