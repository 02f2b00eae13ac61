#if DEBUG
import Dispatch
import FoundationEssentials

#if canImport(Glibc)
import Glibc
#endif

/// Test-only behaviour, compiled into debug builds only: release builds have none of it.
enum DebugHooks {
    static let forbiddenSystemCallVariable = "SWIFTLET_DEBUG_FORBIDDEN_SYSCALL"

    /// With the variable set, a Dispatch worker thread (the kind that runs vCPUs and device
    /// I/O) makes a system call no allowlist has (`getppid`), so a test can watch seccomp
    /// kill the process.
    static func runForbiddenSystemCallIfAsked() {
        guard let delay = ProcessInfo.processInfo.environment[forbiddenSystemCallVariable].flatMap(Double.init) else { return }
        DispatchQueue.global().asyncAfter(deadline: .now() + delay) { _ = getppid() }
    }
}
#endif
