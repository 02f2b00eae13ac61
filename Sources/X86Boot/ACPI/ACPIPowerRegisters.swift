/// The hardware-reduced ACPI power registers the FADT points at, all in port I/O space, each
/// one byte wide: what the guest writes to power off or reset, and what the VMM must answer.
///
/// A hardware-reduced platform has no PM1 blocks; the FADT's SLEEP_CONTROL_REG,
/// SLEEP_STATUS_REG and RESET_REG generic addresses replace them. 0x600 is the PM base that
/// QEMU's PIIX4 and ICH9 and Cloud Hypervisor use, clear of every legacy device Swiftlet
/// emulates and of the PCI configuration ports (0xCF8–0xCFF, which hold the PC's usual
/// reset port 0xCF9).
public enum ACPIPowerRegisters {
    /// SLEEP_CONTROL_REG: Linux writes `SLP_TYP << 2 | SLP_EN` here to enter a sleep state;
    /// for `poweroff` that is S5, the value 0x34.
    public static let sleepControlPort: UInt16 = 0x600
    /// SLEEP_STATUS_REG: Linux writes WAK_STS (0x80) here to clear it before sleeping and
    /// reads it while waking. Reads may answer 0; writes may be ignored.
    public static let sleepStatusPort: UInt16 = 0x601
    /// RESET_REG: writing `resetValue` here resets the machine. x86 Linux tries this first
    /// on `reboot` unless the command line's `reboot=` names another method.
    public static let resetPort: UInt16 = 0x602
    public static let resetValue: UInt8 = 0x01

    /// The ports above as one range, so a device can claim them and the PCI I/O window can
    /// be checked against them.
    public static let portRange: ClosedRange<UInt16> = sleepControlPort...resetPort

    /// SLP_TYP that `\_S5` announces; the DSDT and `isPowerOffRequest` must agree on it.
    public static let s5SleepType: UInt8 = 5

    /// SLEEP_CONTROL_REG fields (ACPI 6.5 §4.8.3.7): SLP_TYP in bits 2–4, SLP_EN in bit 5.
    static let sleepTypeShift: UInt8 = 2
    static let sleepTypeMask: UInt8 = 0x7
    static let sleepEnableBit: UInt8 = 0x20

    /// Whether a byte written to the sleep control register asks to enter S5 (power off).
    /// Other sleep types are not offered in the DSDT, so the VMM can ignore them.
    public static func isPowerOffRequest(sleepControlWrite value: UInt8) -> Bool {
        value & sleepEnableBit != 0 && (value >> sleepTypeShift) & sleepTypeMask == s5SleepType
    }
}
