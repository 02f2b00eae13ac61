import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A pseudo-terminal whose far end a swiftlet process gets as stdin and stdout, so a test can
/// type at it like a user and look at the terminal's settings afterwards.
final class PseudoTerminal {
    /// The test's end: what is written here, swiftlet reads from its stdin.
    let controller: Int32
    /// swiftlet's end, a terminal (`isatty` is true).
    let terminal: Int32
    private let output = Collected()

    init() throws {
        // posix_openpt and friends are not visible from Swift's Glibc module; these are the
        // ioctls they use on Linux (x86_64 numbers from <asm-generic/ioctls.h>).
        let setLock: UInt = 0x4004_5431  // TIOCSPTLCK
        let getNumber: UInt = 0x8004_5430  // TIOCGPTN
        controller = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC)
        var unlocked: Int32 = 0
        var number: UInt32 = 0
        guard controller >= 0, ioctl(controller, setLock, &unlocked) == 0, ioctl(controller, getNumber, &number) == 0 else {
            throw PseudoTerminalError(description: "cannot create a pseudo-terminal: errno \(errno)")
        }
        let name = "/dev/pts/\(number)"
        terminal = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC)
        guard terminal >= 0 else { throw PseudoTerminalError(description: "cannot open \(name): errno \(errno)") }
        // Drain what swiftlet prints, so it never blocks on a full terminal buffer.
        let controller = self.controller
        Thread.detachNewThread { [output] in
            var buffer = [UInt8](repeating: 0, count: 4096)
            while true {
                let count = buffer.withUnsafeMutableBytes { read(controller, $0.baseAddress, $0.count) }
                if count < 0 && errno == EINTR { continue }
                guard count > 0 else { return }
                output.bytes.withLock { $0.append(contentsOf: buffer[0..<count]) }
            }
        }
    }

    deinit {
        close(terminal)
        close(controller)
    }

    var handle: FileHandle { FileHandle(fileDescriptor: terminal, closeOnDealloc: false) }

    /// What swiftlet printed on the terminal so far.
    var printed: String { String(decoding: output.bytes.withLock { $0 }, as: UTF8.self) }

    func type(_ bytes: [UInt8]) {
        _ = bytes.withUnsafeBytes { write(controller, $0.baseAddress, $0.count) }
    }

    var settings: termios {
        var settings = termios()
        tcgetattr(terminal, &settings)
        return settings
    }

    /// Cooked mode as a shell expects it: line editing and echo.
    var isCooked: Bool { settings.c_lflag & tcflag_t(ICANON) != 0 && settings.c_lflag & tcflag_t(ECHO) != 0 }
    var isRaw: Bool { settings.c_lflag & tcflag_t(ICANON | ECHO) == 0 }
}

/// What the reading thread has collected; a class so the thread can share it.
private final class Collected: Sendable {
    let bytes = Mutex(Data())
}

struct PseudoTerminalError: Error, CustomStringConvertible {
    let description: String
}
