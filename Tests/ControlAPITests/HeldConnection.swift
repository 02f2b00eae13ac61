@testable import ControlAPI
import Foundation
import SwiftletCore

/// A raw client connection that the test keeps open and feeds byte by byte, to play the
/// silent, slow or idle clients the server must get rid of.
final class HeldConnection {
    private let fd: Int32

    init(socketPath: String) throws {
        fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw VMMError("socket failed: errno \(errno)") }
        let error = UnixSocketFile.withSocketAddress(socketPath) { address, length in
            connect(fd, address, length) == 0 ? 0 : errno
        }
        guard error == 0 else {
            close(fd)
            throw VMMError("connect to \(socketPath) failed: errno \(error)")
        }
    }

    deinit { close(fd) }

    /// Sends `text`; false once the server has closed the connection.
    @discardableResult
    func send(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        let sent = bytes.withUnsafeBytes { buffer in
            retryingOnInterrupt { Glibc.send(fd, buffer.baseAddress, buffer.count, Int32(MSG_NOSIGNAL)) }
        }
        return sent == bytes.count
    }

    /// Reads what arrives within `timeout`, or until a whole HTTP response has arrived if
    /// `untilAnswered`. `closed` is true once the server has closed its end (end of file, or a
    /// reset after the data it sent).
    func receive(waitingUpTo timeout: Duration, untilAnswered: Bool = false) -> (text: String, closed: Bool) {
        var received: [UInt8] = []
        let deadline = ContinuousClock.now.advanced(by: timeout)
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let remaining = ContinuousClock.now.duration(to: deadline)
            guard remaining > .zero else { break }
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let milliseconds = Int32(max(1, remaining.components.seconds * 1000 + remaining.components.attoseconds / 1_000_000_000_000_000))
            guard retryingOnInterrupt({ poll(&poller, 1, milliseconds) }) > 0 else { break }
            let count = chunk.withUnsafeMutableBytes { buffer in
                retryingOnInterrupt { recv(fd, buffer.baseAddress, buffer.count, Int32(MSG_DONTWAIT)) }
            }
            if count > 0 {
                received.append(contentsOf: chunk[0..<count])
                if untilAnswered, HTTPResponseParser.isComplete(received) { break }
                continue
            }
            if count < 0, errno == EAGAIN { continue }
            return (String(decoding: received, as: UTF8.self), true)
        }
        return (String(decoding: received, as: UTF8.self), false)
    }

    /// True if the server has closed the connection (reading everything it sent before).
    func isClosedByServer(waitingUpTo timeout: Duration) -> Bool {
        receive(waitingUpTo: timeout).closed
    }
}
