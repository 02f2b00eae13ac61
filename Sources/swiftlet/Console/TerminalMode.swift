#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// Puts the controlling terminal into raw mode for the guest console and guarantees the
/// original settings come back on every exit path (normal return, `exit()`, fatal signals).
enum TerminalMode {
    private static let saved = Mutex<termios?>(nil)

    /// Switches stdin to raw mode if it is a terminal. Output processing stays on so that a
    /// guest printing bare newlines still renders line by line.
    static func enterRaw() {
        guard isatty(STDIN_FILENO) == 1 else { return }
        var original = termios()
        guard tcgetattr(STDIN_FILENO, &original) == 0 else { return }
        saved.withLock { $0 = original }
        var raw = original
        cfmakeraw(&raw)
        raw.c_oflag |= tcflag_t(OPOST | ONLCR)
        tcsetattr(STDIN_FILENO, TCSANOW, &raw)
        atexit { TerminalMode.restore() }
    }

    static func restore() {
        guard var original = saved.withLock({ $0 }) else { return }
        tcsetattr(STDIN_FILENO, TCSANOW, &original)
    }
}
