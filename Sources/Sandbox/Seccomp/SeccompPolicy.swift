#if canImport(Glibc)
import Glibc
#endif

/// What `swiftlet run` installs on its threads, from `--no-seccomp`, `--seccomp-filter FILE`
/// and the `SWIFTLET_SECCOMP_LOG` debug switch.
public struct SeccompPolicy: Sendable, Equatable {
    /// nil: seccomp is off (`--no-seccomp`).
    public let allowlists: [ThreadKind: Allowlist]?
    public let denied: DeniedAction

    /// The environment variable of the debug modes: `1` or `trap` reports a denied call on
    /// stderr before dying; `log` allows it and lets the kernel log it. Unset: kill silently
    /// (the kernel's audit log still records the call).
    public static let debugVariable = "SWIFTLET_SECCOMP_LOG"

    public init(allowlists: [ThreadKind: Allowlist]?, denied: DeniedAction) {
        self.allowlists = allowlists
        self.denied = denied
    }

    /// Seccomp on with the built-in allowlists: the default.
    public static let builtIn = SeccompPolicy(
        allowlists: Dictionary(uniqueKeysWithValues: ThreadKind.allCases.map { ($0, Allowlist.builtIn(for: $0)) }), denied: .killProcess)

    public static let disabled = SeccompPolicy(allowlists: nil, denied: .killProcess)

    /// The policy for the command line's options and the environment.
    public static func fromOptions(noSeccomp: Bool, filterFile: String?, environment: [String: String]) throws -> SeccompPolicy {
        let denied = try deniedAction(debugValue: environment[debugVariable])
        if noSeccomp { return .disabled }
        if let filterFile {
            return SeccompPolicy(allowlists: try SeccompFilterFile.load(path: filterFile).allowlists, denied: denied)
        }
        return SeccompPolicy(allowlists: builtIn.allowlists, denied: denied)
    }

    static func deniedAction(debugValue: String?) throws(SeccompError) -> DeniedAction {
        switch debugValue {
        case nil, "", "0": return .killProcess
        case "1", "trap": return .trapAndReport
        case "log": return .log
        case let other?:
            throw .badDebugSetting(variable: debugVariable, value: other)
        }
    }

    /// The compiled filter for `kind`, or nil when seccomp is off.
    public func filter(for kind: ThreadKind) throws(SeccompError) -> SeccompFilter? {
        guard let allowlist = allowlists?[kind] else { return nil }
        return try SeccompFilter(kind: kind, allowlist: allowlist, denied: denied)
    }

    /// Installs the filter for `kind` on the calling thread (or every thread); nothing when off.
    public func install(for kind: ThreadKind, scope: SeccompFilter.Scope = .currentThread) throws(SeccompError) {
        guard let filter = try filter(for: kind) else { return }
        // Every log line's timestamp runs glibc's tzset. The first one opens /etc/localtime;
        // later ones only stat it. Done here, the open happens before any filter, so a first
        // log line on a narrowed thread (a vCPU's warning, with nothing logged before) stats
        // instead of opening a file it may not open.
        tzset()
        try SeccompFilter.install(filter, scope: scope)
    }
}
