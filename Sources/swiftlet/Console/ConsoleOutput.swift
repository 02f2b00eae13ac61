import Devices

/// Guest console bytes on their way to a file descriptor. Writes never block the vCPU: a
/// bounded buffer and a writer queue sit between them (`ConsoleOutputBuffer`). A closed
/// reader (EPIPE) silences the console instead of killing the VMM.
struct ConsoleOutput: Sendable {
    let buffer: ConsoleOutputBuffer

    init(fd: Int32) { buffer = ConsoleOutputBuffer(fd: fd) }

    func write(_ bytes: [UInt8]) { buffer.write(bytes) }

    /// Lets buffered output reach the descriptor before the process exits (bounded wait).
    func finish() { buffer.finish() }
}
