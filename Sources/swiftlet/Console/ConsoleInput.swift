import Devices
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Feeds host stdin into the UART's receive FIFO on its own thread.
///
/// Bytes that do not fit wait until the guest drains the FIFO, so pasted or piped input is
/// never dropped. On a terminal, Ctrl-A then `x` quits (the guest owns Ctrl-C).
final class ConsoleInput: Sendable {
    private let serial: Serial16550
    private let onQuit: @Sendable () -> Void
    private let interactive: Bool
    private let isPaused: @Sendable () -> Bool

    /// - Parameter isPaused: while true, input is held back so that a paused VM receives no
    ///   interrupts; it is delivered after resume.
    init(serial: Serial16550, interactive: Bool, isPaused: @escaping @Sendable () -> Bool, onQuit: @escaping @Sendable () -> Void) {
        self.serial = serial
        self.interactive = interactive
        self.isPaused = isPaused
        self.onQuit = onQuit
    }

    func start() {
        let thread = Thread { [self] in pump() }
        thread.name = "swiftlet.console"
        thread.start()
    }

    private func pump() {
        var buffer = [UInt8](repeating: 0, count: 256)
        var escapePending = false
        while true {
            let count = buffer.withUnsafeMutableBytes { read(STDIN_FILENO, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { return }  // EOF or error: the guest simply gets no more input.
            var pending = ArraySlice(buffer[0..<count])
            if interactive {
                var filtered: [UInt8] = []
                for byte in pending {
                    if escapePending {
                        escapePending = false
                        if byte == UInt8(ascii: "x") { onQuit(); return }
                        if byte != 0x01 { filtered.append(0x01) }
                        filtered.append(byte)
                    } else if byte == 0x01 {
                        escapePending = true
                    } else {
                        filtered.append(byte)
                    }
                }
                pending = ArraySlice(filtered)
            }
            while !pending.isEmpty {
                if isPaused() {
                    usleep(10_000)
                    continue
                }
                let taken = serial.enqueueInput(pending)
                pending = pending.dropFirst(taken)
                if !pending.isEmpty { usleep(2000) }
            }
        }
    }
}
