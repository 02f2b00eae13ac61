import CSandbox
import SwiftletCore

#if canImport(Glibc)
import Glibc
#endif

/// A compiled seccomp filter for one kind of thread, and its installation.
///
/// Filters are installed per thread (no TSYNC) so that each kind keeps its own list. A thread
/// inherits the filters of the thread that created it, and filters stack: a call must pass every
/// filter installed on the thread. Install a kind's filter at the top of a thread that is
/// dedicated to that kind for the rest of its life.
public struct SeccompFilter: Sendable, Equatable {
    public let kind: ThreadKind
    public let program: BPFProgram
    public let denied: DeniedAction

    public init(kind: ThreadKind, allowlist: Allowlist, denied: DeniedAction = .killProcess) throws(SeccompError) {
        self.kind = kind
        self.program = try SeccompProgramBuilder.build(allowlist, kind: kind, denied: denied)
        self.denied = denied
    }

    /// The built-in filter for `kind` (`Allowlist.builtIn(for:)`).
    public static func forThread(_ kind: ThreadKind, denied: DeniedAction = .killProcess) throws(SeccompError) -> SeccompFilter {
        try SeccompFilter(kind: kind, allowlist: .builtIn(for: kind), denied: denied)
    }

    /// Which threads `install` applies the filter to.
    public enum Scope: Sendable {
        /// The calling thread, and the threads it creates from now on.
        case currentThread
        /// Every thread of the process (`SECCOMP_FILTER_FLAG_TSYNC`): a process-wide baseline
        /// for threads that are not dedicated to one kind (libdispatch's pool).
        case allThreads
    }

    /// Sets `PR_SET_NO_NEW_PRIVS` (required to install a filter without CAP_SYS_ADMIN, and so
    /// that no exec can regain privileges) and installs `filter`. Irreversible.
    public static func install(_ filter: SeccompFilter, scope: Scope = .currentThread) throws(SeccompError) {
        if filter.denied == .trapAndReport { try SigsysReporter.install(kind: filter.kind) }
        csandbox_set_thread_kind_label(filter.kind.rawValue)
        guard csandbox_set_no_new_privs() == 0 else {
            throw .install(kind: filter.kind, operation: "prctl(PR_SET_NO_NEW_PRIVS)", errno: errno)
        }
        let instructions = filter.program.kernelForm
        let result = instructions.withUnsafeBufferPointer { buffer in
            csandbox_seccomp_set_filter(buffer.baseAddress, UInt16(buffer.count), scope == .allThreads ? 1 : 0)
        }
        guard result == 0 else { throw .install(kind: filter.kind, operation: "seccomp(SECCOMP_SET_MODE_FILTER)", errno: errno) }
    }
}

/// The SIGSYS handler of the trap debug mode, and the C strings it prints from.
enum SigsysReporter {
    /// The system call names as C strings, indexed by number; never freed, because the handler
    /// may run at any time until the process dies.
    private struct Names: @unchecked Sendable {
        let pointer: UnsafeMutablePointer<UnsafePointer<CChar>?>
        let count: Int
    }

    private static let names: Names = {
        let table = SystemCallTable.namesByNumber
        let pointer = UnsafeMutablePointer<UnsafePointer<CChar>?>.allocate(capacity: table.count)
        for (index, name) in table.enumerated() {
            pointer[index] = name.flatMap { UnsafePointer(strdup($0)) }
        }
        return Names(pointer: pointer, count: table.count)
    }()

    /// Idempotent: every call installs the same handler.
    static func install(kind: ThreadKind) throws(SeccompError) {
        let names = Self.names
        guard csandbox_install_sigsys_reporter(names.pointer, UInt32(names.count)) == 0 else {
            throw .install(kind: kind, operation: "sigaction(SIGSYS)", errno: errno)
        }
    }
}
