import Devices
import X86Boot

extension Machine {
    /// Puts the ACPI power registers the FADT describes on the port bus: a guest `poweroff`
    /// (S5) or an ACPI reset ends the VM cleanly, whichever vCPU writes it.
    static func attachPowerRegisters(to portBus: Bus, control: RunControl) throws(MachineError) {
        let device = ACPIPowerDevice(
            isPowerOffRequest: { ACPIPowerRegisters.isPowerOffRequest(sleepControlWrite: $0) },
            resetValue: ACPIPowerRegisters.resetValue
        ) { event in
            switch event {
            case .powerOff: control.stop(.guestPowerOff("ACPI S5"))
            case .reset: control.stop(.guestReset("ACPI reset register"))
            }
        }
        do {
            try portBus.insert(device, base: UInt64(ACPIPowerRegisters.portRange.lowerBound), length: ACPIDevicePorts.count)
        } catch {
            throw .device(error)
        }
    }
}

/// The device's register offsets must be where the FADT points.
enum ACPIDevicePorts {
    static let count = UInt64(ACPIPowerRegisters.portRange.count)
}
