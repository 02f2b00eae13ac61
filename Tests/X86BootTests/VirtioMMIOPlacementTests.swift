import SwiftletCore
import Testing
@testable import X86Boot

@Suite struct VirtioMMIOPlacementTests {
    @Test func devicesGetConsecutiveWindowsAndFreeISAInterruptsFirst() throws {
        let devices = try VirtioMMIOPlacement.devices(count: 3)
        #expect(devices.map(\.window.start) == [0xD000_0000, 0xD000_1000, 0xD000_2000])
        #expect(devices.allSatisfy { $0.window.length == 0x1000 })
        #expect(devices.map(\.gsi) == [5, 6, 7])
    }

    @Test func noDeviceTakesAnInterruptTheLegacyDevicesUse() throws {
        let gsis = try VirtioMMIOPlacement.devices(count: VirtioMMIOPlacement.gsis.count).map(\.gsi)
        // Timer, keyboard, cascade, COM2, COM1, RTC, SCI, mouse, FPU; and the IOAPIC has 24 pins.
        for taken: UInt32 in [0, 1, 2, 3, 4, 8, 9, 12, 13] { #expect(!gsis.contains(taken)) }
        #expect(gsis.allSatisfy { $0 < 24 })
        #expect(Set(gsis).count == gsis.count)
    }

    @Test func windowsStayOutOfThePCIWindowAndTheInterruptControllers() throws {
        let devices = try VirtioMMIOPlacement.devices(count: VirtioMMIOPlacement.gsis.count)
        for device in devices {
            #expect(!device.window.overlaps(X86Layout.pciMMIOWindow))
            #expect(X86Layout.virtioMMIOWindow.contains(device.window))
            #expect(X86Layout.mmioHole.contains(device.window))
        }
        #expect(!X86Layout.pciMMIOWindow.contains(X86Layout.ioapicAddress.rawValue))
        // The tables accept the whole set next to the PCI window.
        _ = try ACPITables.build(
            vcpuCount: 1, pciMMIOWindow: X86Layout.pciMMIOWindow, pciIOWindow: addressRange(0x1000, 0xF000), virtioMMIODevices: devices)
    }

    @Test func tooManyDevicesAreRefused() throws {
        #expect(throws: VirtioMMIOPlacement.TooManyDevices(count: 16)) { try VirtioMMIOPlacement.devices(count: 16) }
        #expect(throws: VirtioMMIOPlacement.TooManyDevices(count: -1)) { try VirtioMMIOPlacement.devices(count: -1) }
        #expect(try VirtioMMIOPlacement.devices(count: 0).isEmpty)
    }

    @Test func commandLineWordsAreWhatLinuxParses() throws {
        let words = VirtioMMIOPlacement.commandLineWords(try VirtioMMIOPlacement.devices(count: 2))
        #expect(words == ["virtio_mmio.device=4K@0xd0000000:5", "virtio_mmio.device=4K@0xd0001000:6"])
        let odd = VirtioMMIODeviceDescription(window: addressRange(0xD001_0000, 0x2000), gsi: 17)
        #expect(VirtioMMIOPlacement.commandLineWords([odd]) == ["virtio_mmio.device=8K@0xd0010000:17"])
    }
}
