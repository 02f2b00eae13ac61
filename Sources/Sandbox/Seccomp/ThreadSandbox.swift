import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Narrows VMM threads to their kind's allowlist, on top of the process-wide `main` filter
/// that `swiftlet run` installs first: a narrowed thread can make only the calls both lists
/// allow. Threads that a narrowed thread creates (libdispatch's pool threads, mostly) are
/// created by a spawner thread under the `main` filter alone (`ThreadSpawner`), so a narrow
/// filter never leaks into threads that do other work.
///
/// Nothing happens until `configure` is called, so code that runs VMs in a test process, or
/// with `--no-seccomp`, is unaffected.
public enum ThreadSandbox {
    private struct Configuration {
        let policy: SeccompPolicy
        let spawner: ThreadSpawner
    }

    private static let configuration = Mutex<Configuration?>(nil)

    /// The kinds that get their own filter; `main` is the process-wide one they narrow.
    static let narrowedKinds: Set<ThreadKind> = [.api, .vcpu, .deviceIO]

    /// Makes later `narrowCurrentThread` calls install `policy`'s lists, with `spawner`
    /// creating the threads that narrowed threads ask for. Call once, after the process-wide
    /// filter is installed and before any thread is narrowed.
    public static func configure(_ policy: SeccompPolicy, spawner: ThreadSpawner) throws(SeccompError) {
        guard policy.allowlists != nil else { return }
        let result = spawner.start()
        guard result == 0 else { throw .install(kind: .main, operation: "pthread_create (thread spawner)", errno: result) }
        configuration.withLock { $0 = Configuration(policy: policy, spawner: spawner) }
    }

    /// Installs `kind`'s filter on the calling thread. Call it at the top of a thread that does
    /// `kind`'s work for the rest of the process's life: the filter cannot be removed, so a
    /// thread that went back to other work would keep it. A failure ends the process: running
    /// on unnarrowed would be a silent loss of the sandbox.
    public static func narrowCurrentThread(to kind: ThreadKind) {
        if narrowedKinds.contains(kind), let configuration = configuration.withLock({ $0 }) {
            // Marked first: from the filter's first instruction on, this thread's children
            // must come from the spawner.
            configuration.spawner.markThreadNarrowed()
            do {
                try configuration.policy.install(for: kind)
            } catch {
                fatalError("seccomp: cannot narrow a \(kind.rawValue) thread: \(error)")
            }
        }
        #if DEBUG
        makeDebugSystemCallIfAsked(on: kind)
        #endif
    }

    #if DEBUG
    /// The debug-only test hook: `SWIFTLET_DEBUG_SYSCALL_ON_THREAD=<kind>:<call>` makes each
    /// thread of that kind make `call` (`getppid`, which no list allows, or `getcwd`, which
    /// only `main` allows) right after narrowing, so a test can watch the kernel refuse it
    /// there. Made with seccomp off too, where it must be harmless.
    static let debugSystemCallVariable = "SWIFTLET_DEBUG_SYSCALL_ON_THREAD"

    private static func makeDebugSystemCallIfAsked(on kind: ThreadKind) {
        guard let value = getenv(debugSystemCallVariable).map({ String(cString: $0) }) else { return }
        switch value {
        case "\(kind.rawValue):getppid":
            _ = getppid()
        case "\(kind.rawValue):getcwd":
            var buffer = [CChar](repeating: 0, count: Int(PATH_MAX))
            _ = getcwd(&buffer, buffer.count)
        default:
            return
        }
    }
    #endif
}
