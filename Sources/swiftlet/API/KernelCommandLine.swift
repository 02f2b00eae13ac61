import Machine

/// The kernel command line a VM boots with when none is given (`--cmdline`, `boot_args`).
enum KernelCommandLine {
    /// The console on COM1, and `panic=1` so a panic reboots after a second, which ends
    /// Swiftlet. Nothing else is needed: the ACPI tables tell Linux where the PCI bus, the
    /// CPUs and COM1 are, and a reboot goes through the FADT's reset register (or the reset
    /// vector stub, which writes it). `i8042.noaux` spares Linux probing a mouse port the
    /// i8042 does not model. Keep this the one place that lists them.
    static let `default` = "console=ttyS0 panic=1 i8042.noaux"

    /// Firecracker's default, which launchers that send no `boot_args` rely on: no serial
    /// console (`8250.nr_uarts=0`), no modules, no PCI, and an i8042 probed as little as
    /// possible. With `--enable-pci` the devices are on PCI, so `pci=off` would hide them.
    static func firecrackerDefault(transport: VirtioTransportKind) -> String {
        let pci = transport == .pci ? [] : ["pci=off"]
        return (["reboot=k", "panic=1"] + pci + ["nomodule", "8250.nr_uarts=0", "i8042.noaux", "i8042.nomux", "i8042.nopnp", "i8042.dumbkbd"])
            .joined(separator: " ")
    }

    /// With a root drive, Firecracker appends `root=/dev/vda` and `rw` or `ro`: the root
    /// drive is attached first, so it is always the guest's vda.
    /// `rootReadOnly` is nil when there is no root drive.
    static func withRootDevice(_ commandLine: String, rootReadOnly: Bool?) -> String {
        guard let rootReadOnly else { return commandLine }
        let words = "root=/dev/vda " + (rootReadOnly ? "ro" : "rw")
        return commandLine.isEmpty ? words : commandLine + " " + words
    }
}
