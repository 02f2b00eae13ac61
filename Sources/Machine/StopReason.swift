/// Why a VM stopped; decides Swiftlet's exit status (`exitCode`).
public enum StopReason: Sendable, Equatable, CustomStringConvertible {
    /// The guest powered off (ACPI S5 through the sleep control register, or a KVM shutdown
    /// event).
    case guestPowerOff(String)
    /// The guest reset the machine (ACPI reset register, i8042 reset line, KVM reset event).
    case guestReset(String)
    /// The guest brought the CPU down by faulting: a triple fault (`KVM_EXIT_SHUTDOWN`), or
    /// a crash it reported itself (KVM crash event).
    case guestFault(String)
    /// The host asked the VM to stop (a signal, the console escape).
    case hostRequest(String)
    /// KVM could not run the guest: an internal error, a failed VM entry, an exit Swiftlet
    /// does not know, or a failed `KVM_RUN`.
    case vmmFailure(String)
    /// A device failed in a way the guest cannot recover from.
    case deviceFailure(String)

    /// Swiftlet's exit status for each way a VM can end, and for the ways `run` can fail
    /// before there is a VM. The one place these numbers are decided; `run --help` and the
    /// README show this table.
    public enum ExitStatus {
        /// The guest powered off or reset, or the host stopped it (a signal, Ctrl-A x).
        public static let clean: Int32 = 0
        /// The VM could not be built, restored or started: a bad kernel, initrd, disk,
        /// snapshot or configuration value.
        public static let startFailed: Int32 = 1
        /// The guest triple-faulted or reported a crash.
        public static let guestFault: Int32 = 2
        /// KVM failed: internal error, failed VM entry, unknown exit, `KVM_RUN` error.
        public static let vmmFailure: Int32 = 3
        /// A device failed.
        public static let deviceFailure: Int32 = 4
        /// The command line is wrong (swift-argument-parser's usage error, EX_USAGE).
        public static let usage: Int32 = 64

        /// The table as `run --help` and the README show it.
        public static let table = """
            \(clean)   the guest powered off or reset, or the host stopped it (signal, Ctrl-A x)
            \(startFailed)   the VM could not be built, restored or started (files, settings)
            \(guestFault)   the guest triple-faulted or reported a crash
            \(vmmFailure)   KVM failed: internal error, failed VM entry, unknown exit
            \(deviceFailure)   a device failed
            \(usage)  usage error on the command line
            """
    }

    public var exitCode: Int32 {
        switch self {
        case .guestPowerOff, .guestReset, .hostRequest: return ExitStatus.clean
        case .guestFault: return ExitStatus.guestFault
        case .vmmFailure: return ExitStatus.vmmFailure
        case .deviceFailure: return ExitStatus.deviceFailure
        }
    }

    public var isClean: Bool { exitCode == ExitStatus.clean }

    public var description: String {
        switch self {
        case .guestPowerOff(let why): return "guest powered off: \(why)"
        case .guestReset(let why): return "guest reset: \(why)"
        case .guestFault(let why): return "guest fault: \(why)"
        case .hostRequest(let why): return "stopped by host: \(why)"
        case .vmmFailure(let why): return "VM failed: \(why)"
        case .deviceFailure(let why): return "device failed: \(why)"
        }
    }
}
