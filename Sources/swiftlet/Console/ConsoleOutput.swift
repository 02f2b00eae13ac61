import SwiftletCore
import SystemPackage

/// Writes guest console bytes to a file descriptor, retrying short and interrupted writes. A
/// closed reader (EPIPE) silences the console instead of killing the VMM.
struct ConsoleOutput: Sendable {
    let fd: Int32

    func write(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { buffer in
            try? HostFile.write(FileDescriptor(rawValue: fd), buffer)
        }
    }
}
