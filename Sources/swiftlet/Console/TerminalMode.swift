import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Puts the controlling terminal into raw mode for the guest console and guarantees the
/// original settings come back on every exit path: normal return, `exit()`, and the fatal
/// signals (see `FatalSignals`).
enum TerminalMode {
    /// The settings to restore. Plain memory, allocated once and never freed, because a signal
    /// handler reads it: no lock, no reference counting, no lazy initialization in the handler.
    /// Written only by `enterRaw()` before anything reads it, hence `nonisolated(unsafe)`.
    nonisolated(unsafe) private static let saved = UnsafeMutablePointer<termios>.allocate(capacity: 1)
    /// Set once `saved` holds the terminal's settings (lock-free, so a handler may read it).
    private static let isRaw = Atomic<Bool>(false)

    /// Switches stdin to raw mode if it is a terminal. Output processing stays on so that a
    /// guest printing bare newlines still renders line by line.
    static func enterRaw() {
        guard isatty(STDIN_FILENO) == 1, tcgetattr(STDIN_FILENO, saved) == 0 else { return }
        var raw = saved.pointee
        cfmakeraw(&raw)
        raw.c_oflag |= tcflag_t(OPOST | ONLCR)
        isRaw.store(true, ordering: .releasing)
        atexit { TerminalMode.restore() }
        FatalSignals.restoreTerminalBeforeDying()
        tcsetattr(STDIN_FILENO, TCSANOW, &raw)
    }

    /// Puts the saved settings back. Async-signal-safe: an atomic load and `tcsetattr`.
    static func restore() {
        guard isRaw.load(ordering: .acquiring) else { return }
        tcsetattr(STDIN_FILENO, TCSANOW, saved)
    }
}
