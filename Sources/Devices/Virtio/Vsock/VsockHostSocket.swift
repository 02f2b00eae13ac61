#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CTap
import SwiftletCore

/// The host side of vsock: non-blocking Unix stream sockets, and what each call on them
/// can come to. Never raises SIGPIPE (sends use MSG_NOSIGNAL): a host program that went
/// away is an error on one connection, not a signal to the VMM.
enum VsockHostSocket {
    enum Transfer: Equatable {
        case transferred(Int)
        case wouldBlock
        /// Read: the host closed its sending side.
        case endOfStream
        case failed(Int32)
    }

    private static var streamType: Int32 { Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue) }

    /// A listening socket at `path`, which must not exist yet, or be a socket nobody listens
    /// on any more (left by a VMM that exited: it is replaced). Refusing anything else means a
    /// typo never deletes someone's file and a second VMM never steals a live socket.
    static func listen(at path: String) throws(VirtioVsockError) -> Int32 {
        var status = stat()
        if lstat(path, &status) == 0 {
            guard status.st_mode & S_IFMT == S_IFSOCK, UnixSocketAddress.probe(path) == .stale, unlink(path) == 0 else {
                throw .socketPathExists(path)
            }
        }
        let descriptor: Int32
        do {
            descriptor = try systemCall("socket", path: path) { socket(AF_UNIX, streamType, 0) }
        } catch {
            throw .cannotListen(path: path, error)
        }
        let bindError = UnixSocketAddress.with(path) { address, length in bind(descriptor, address, length) == 0 ? 0 : errno }
        guard bindError == 0 else {
            close(descriptor)
            if bindError == EADDRINUSE { throw .socketPathExists(path) }
            throw .cannotListen(path: path, SystemError("bind", path: path, code: bindError))
        }
        guard Glibc.listen(descriptor, 64) == 0 else {
            let error = SystemError.last("listen", path: path)
            close(descriptor)
            unlink(path)
            throw .cannotListen(path: path, error)
        }
        return descriptor
    }

    /// The next waiting connection, non-blocking; nil when there is none (or it went away).
    static func accept(from listener: Int32) -> Int32? {
        let descriptor = retryingOnInterrupt { cvsock_accept_nonblocking(listener) }
        return descriptor >= 0 ? descriptor : nil
    }

    /// A connection to whoever listens at `path`; nil when nobody does (or cannot take it now).
    static func connect(to path: String) -> Int32? {
        let descriptor = socket(AF_UNIX, streamType, 0)
        guard descriptor >= 0 else { return nil }
        let error = UnixSocketAddress.with(path) { address, length in
            retryingOnInterrupt { Glibc.connect(descriptor, address, length) } == 0 ? 0 : errno
        }
        guard error == 0 else {
            close(descriptor)
            return nil
        }
        return descriptor
    }

    static func receive(_ descriptor: Int32, into buffer: UnsafeMutableRawBufferPointer) -> Transfer {
        let count = retryingOnInterrupt { recv(descriptor, buffer.baseAddress, buffer.count, 0) }
        if count > 0 { return .transferred(count) }
        if count == 0 { return buffer.isEmpty ? .transferred(0) : .endOfStream }
        return errno == EAGAIN || errno == EWOULDBLOCK ? .wouldBlock : .failed(errno)
    }

    static func send(_ descriptor: Int32, _ bytes: UnsafeRawBufferPointer) -> Transfer {
        let count = retryingOnInterrupt { Glibc.send(descriptor, bytes.baseAddress, bytes.count, Int32(MSG_NOSIGNAL)) }
        if count >= 0 { return .transferred(count) }
        return errno == EAGAIN || errno == EWOULDBLOCK ? .wouldBlock : .failed(errno)
    }
}
