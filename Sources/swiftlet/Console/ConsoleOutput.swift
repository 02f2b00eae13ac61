#if canImport(Glibc)
import Glibc
#endif

/// Writes guest console bytes to a file descriptor, retrying short writes. A closed reader
/// (EPIPE) silences the console instead of killing the VMM.
struct ConsoleOutput: Sendable {
    let fd: Int32

    func write(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = Glibc.write(fd, buffer.baseAddress! + offset, buffer.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    return
                }
                offset += written
            }
        }
    }
}
