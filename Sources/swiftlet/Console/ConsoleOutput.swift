import Devices
import Synchronization

/// Guest console bytes on their way to a file descriptor. Writes never block the vCPU: a
/// bounded buffer and a writer queue sit between them (`ConsoleOutputBuffer`). A closed
/// reader (EPIPE) silences the console instead of killing the VMM.
///
/// `PUT /serial` moves the console to another descriptor before the VM boots, so the buffer
/// is swappable; once the guest writes, it stays.
final class ConsoleOutput: Sendable {
    private let buffer: Mutex<ConsoleOutputBuffer>

    init(fd: Int32) { buffer = Mutex(ConsoleOutputBuffer(fd: fd)) }

    func write(_ bytes: [UInt8]) { buffer.withLock { $0 }.write(bytes) }

    /// Sends what the guest writes from now on to `fd`.
    func redirect(to fd: Int32) {
        buffer.withLock { $0 = ConsoleOutputBuffer(fd: fd) }
    }

    /// Every byte the guest wrote, and those lost because the output did not drain.
    var offeredBytes: UInt64 { buffer.withLock { $0 }.offeredBytes }
    var droppedBytes: UInt64 { buffer.withLock { $0 }.droppedBytes }

    /// Lets buffered output reach the descriptor before the process exits (bounded wait).
    func finish() { buffer.withLock { $0 }.finish() }
}
