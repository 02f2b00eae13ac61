#if canImport(Glibc)
import Glibc
#endif

/// A crash must not leave the user's shell in raw mode (no echo, no line editing). For the
/// signals that end a process with a core dump, a handler restores the terminal, puts back the
/// handler that was there before (the default action, or the Swift runtime's crash reporter),
/// and raises the signal again, so the process still dies of it with the same status.
enum FatalSignals {
    static let numbers: [Int32] = [SIGSEGV, SIGABRT, SIGILL, SIGTRAP, SIGBUS, SIGFPE]

    /// The handlers found at installation, indexed by signal number; read by the handler, so
    /// allocated once and never freed. Written only while installing, before any handler can
    /// read it, hence `nonisolated(unsafe)`.
    nonisolated(unsafe) private static let previous: UnsafeMutablePointer<sigaction> = {
        let table = UnsafeMutablePointer<sigaction>.allocate(capacity: Int(NSIG))
        table.initialize(repeating: sigaction(), count: Int(NSIG))
        return table
    }()

    /// Installs the handlers; call once the terminal's settings are saved.
    static func restoreTerminalBeforeDying() {
        // A parent may start Swiftlet with some of these blocked (a libdispatch worker thread
        // blocks SIGABRT, and a child inherits the mask of the thread that spawned it); a
        // blocked signal sent from outside would wait forever instead of ending the process.
        var unblocked = sigset_t()
        sigemptyset(&unblocked)
        for number in numbers { sigaddset(&unblocked, number) }
        pthread_sigmask(SIG_UNBLOCK, &unblocked, nil)
        for number in numbers {
            var action = sigaction()
            action.__sigaction_handler.sa_handler = { number in
                // Only async-signal-safe work here.
                TerminalMode.restore()
                sigaction(number, FatalSignals.previous + Int(number), nil)
                raise(number)
            }
            sigemptyset(&action.sa_mask)
            sigaction(number, &action, previous + Int(number))
        }
    }
}
