import Devices
import X86Boot

extension Machine {
    /// Where the device's registers start; its offsets match the FADT's ports (tested).
    static let powerRegistersBase = UInt64(ACPIPowerRegisters.sleepControlPort)

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
            try portBus.insert(device, base: powerRegistersBase, length: ACPIPowerDevice.Register.count)
        } catch {
            throw .device(error)
        }
    }
}
