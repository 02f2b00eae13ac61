import CSandbox

/// What the filter does with a system call that is not on the allowlist.
public enum DeniedAction: String, Sendable, CaseIterable {
    /// Kill the whole process (`SECCOMP_RET_KILL_PROCESS`), as Firecracker does: the default.
    /// The process cannot log anything; the kernel's audit log records the call (type=SECCOMP,
    /// `syscall=N`), visible in `dmesg` or `journalctl -k`.
    case killProcess = "kill"
    /// Debug mode: raise SIGSYS, whose handler writes the thread kind and the call's number
    /// and name to stderr, then dies by SIGSYS all the same.
    case trapAndReport = "trap"
    /// Debug mode for writing allowlists: allow the call and let the kernel log it.
    case log

    var seccompReturn: UInt32 {
        switch self {
        case .killProcess: return CSANDBOX_SECCOMP_RET_KILL_PROCESS
        case .trapAndReport: return CSANDBOX_SECCOMP_RET_TRAP
        case .log: return CSANDBOX_SECCOMP_RET_LOG
        }
    }
}
