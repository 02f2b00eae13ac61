import FoundationEssentials
import Machine
import SwiftletCore

#if canImport(Glibc)
import Glibc
#endif

/// Feeds host stdin into the guest's console on its own thread.
///
/// Bytes that do not fit wait until the guest drains its receive FIFO, so pasted or piped
/// input is never dropped. On a terminal, Ctrl-A then `x` quits (the guest owns Ctrl-C), and
/// before any VM exists (while Swiftlet waits for its configuration over the API) Ctrl-C quits
/// too: the terminal is already raw, so it raises no SIGINT by itself.
final class ConsoleInput: Sendable {
    private let pending: PendingMachine
    private let interactive: Bool
    private let onQuit: @Sendable (_ why: String) -> Void

    /// Keys typed before the VM exists are kept for the guest, up to this many.
    static let typeaheadLimit = 4096
    static let ctrlC: UInt8 = 0x03

    init(pending: PendingMachine, interactive: Bool, onQuit: @escaping @Sendable (_ why: String) -> Void) {
        self.pending = pending
        self.interactive = interactive
        self.onQuit = onQuit
    }

    func start() {
        startDetachedThread { [self] in run() }
    }

    private func run() {
        var escape = ConsoleEscape()
        var typeahead: [UInt8] = []
        let machine: Machine
        if interactive {
            guard let started = watchKeysUntilStarted(&escape, typeahead: &typeahead) else { return }
            machine = started
        } else {
            // Piped input waits in the pipe until there is a guest to read it.
            guard case .started(let started) = pending.wait() else { return }
            machine = started
        }
        deliver(typeahead, to: machine)
        while let bytes = readChunk() {
            var forGuest = bytes
            if interactive {
                let filtered = escape.filter(bytes)
                if filtered.quit { return onQuit("console escape (Ctrl-A x)") }
                forGuest = filtered.forGuest
            }
            deliver(forGuest, to: machine)
        }
        // EOF or an error: the guest simply gets no more input.
    }

    /// Reads the keyboard until a VM exists (returned) or Swiftlet stops (nil), acting on the
    /// escape and Ctrl-C and keeping other keys.
    private func watchKeysUntilStarted(_ escape: inout ConsoleEscape, typeahead: inout [UInt8]) -> Machine? {
        while true {
            switch pending.outcome {
            case .started(let machine): return machine
            case .cancelled: return nil
            case nil: break
            }
            // A short poll, so that a VM started through the API is noticed without a keypress.
            var descriptor = pollfd(fd: STDIN_FILENO, events: Int16(POLLIN), revents: 0)
            let ready = retryingOnInterrupt { poll(&descriptor, 1, 100) }
            if ready < 0 { return nil }
            if ready == 0 { continue }
            guard let bytes = readChunk() else { return nil }
            let filtered = escape.filter(bytes)
            if filtered.quit {
                onQuit("console escape (Ctrl-A x)")
                return nil
            }
            if filtered.forGuest.contains(Self.ctrlC) {
                onQuit("Ctrl-C before the VM started")
                return nil
            }
            typeahead += filtered.forGuest.prefix(Self.typeaheadLimit - typeahead.count)
        }
    }

    /// The next bytes from stdin, or nil at end of file or on an error.
    private func readChunk() -> [UInt8]? {
        var buffer = [UInt8](repeating: 0, count: 256)
        let count = buffer.withUnsafeMutableBytes { bytes in
            retryingOnInterrupt { read(STDIN_FILENO, bytes.baseAddress, bytes.count) }
        }
        guard count > 0 else { return nil }
        return Array(buffer[0..<count])
    }

    /// Hands `bytes` to the guest as fast as it takes them. While the VM is paused, input is
    /// held back so that it receives no interrupts; it is delivered after resume.
    private func deliver(_ bytes: [UInt8], to machine: Machine) {
        var remaining = bytes[...]
        while !remaining.isEmpty {
            if machine.state == .paused {
                usleep(10_000)
                continue
            }
            let taken = machine.sendConsoleInput(remaining)
            remaining = remaining.dropFirst(taken)
            if !remaining.isEmpty { usleep(2000) }
        }
    }
}
