import Devices
import Testing
import X86Boot

@testable import Machine

/// The machine's power device and LAPIC set-up must agree with what the firmware tables tell
/// the guest.
@Suite struct FirmwareWiringTests {
    @Test func powerDeviceRegistersAreWhereTheFADTPointsThem() {
        let base = Machine.powerRegistersBase
        #expect(base + ACPIPowerDevice.Register.sleepControl == UInt64(ACPIPowerRegisters.sleepControlPort))
        #expect(base + ACPIPowerDevice.Register.sleepStatus == UInt64(ACPIPowerRegisters.sleepStatusPort))
        #expect(base + ACPIPowerDevice.Register.reset == UInt64(ACPIPowerRegisters.resetPort))
        #expect(ACPIPowerDevice.Register.count == UInt64(ACPIPowerRegisters.portRange.count))
    }

    /// SDM vol. 3A, 11.5.1: LVT delivery mode in bits 10:8 (NMI = 100b, ExtINT = 111b), mask
    /// in bit 16.
    @Test func lint0IsExtINTOnlyOnTheBSPAndLint1IsNMIEverywhere() {
        let bsp = VCPUBootSetup.localInterruptPins(isBootstrapProcessor: true)
        let ap = VCPUBootSetup.localInterruptPins(isBootstrapProcessor: false)
        #expect(bsp.lint0 == 0x0700)
        #expect(ap.lint0 == 0x1_0700)
        #expect(bsp.lint1 == 0x0400 && ap.lint1 == 0x0400)
    }
}
