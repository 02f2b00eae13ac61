import SwiftletCore

/// A few bytes of "BIOS" at the x86 reset vector (0xF000:0xFFF0, physical 0xFFFF0) that reset
/// the machine through the ACPI reset register.
///
/// Linux reaches this address when it reboots a hardware-reduced ACPI machine without EFI and
/// without `reboot=`: it then prefers EFI over the FADT's reset register (`reboot_init`:
/// hardware-reduced implies EFI reboot), finds no EFI, falls back to `BOOT_BIOS`, switches to
/// real mode and jumps here, where a PC's firmware would reset the board. Without this stub it
/// would execute zeros forever.
public enum ResetVector {
    public static let address: GuestAddress = 0xF_FFF0

    /// Real-mode code: `mov al, RESET_VALUE; mov dx, RESET_REG; out dx, al; cli; hlt; jmp $-3`
    /// (back to the hlt, should the write ever return).
    public static var code: [UInt8] {
        let port = ACPIPowerRegisters.resetPort
        return [0xB0, ACPIPowerRegisters.resetValue, 0xBA, UInt8(port & 0xFF), UInt8(port >> 8), 0xEE, 0xFA, 0xF4, 0xEB, 0xFD]
    }

    public static var region: FirmwareRegion { FirmwareRegion(name: "reset vector", address: address, bytes: code) }
}
