/// The kernel command line a VM boots with when none is given (`--cmdline`, `boot_args`).
enum KernelCommandLine {
    /// The console on COM1; `reboot=k` makes a guest reboot an i8042 reset, which ends
    /// Swiftlet with status 0; `panic=1` turns a panic into that reboot after a second. The
    /// rest is what this machine needs today: `pci=conf1` because there are no ACPI tables to
    /// find the PCI bus through, and the i8042 words because its only use is the reset line.
    /// ACPI will make some of them unnecessary; keep this the one place that lists them.
    static let `default` = "console=ttyS0 reboot=k panic=1 pci=conf1 i8042.nopnp i8042.noaux"
}
