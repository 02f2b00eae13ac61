#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A `sockaddr_un` for a path, for bind and connect on Unix sockets (the API socket, the
/// vsock device's host sockets).
public enum UnixSocketAddress {
    /// `sockaddr_un.sun_path` holds 108 bytes including the terminating NUL.
    public static let maxPathBytes = 107

    /// Whether `path` fits a socket address: not empty, no NUL, at most `maxPathBytes`.
    public static func fits(_ path: String) -> Bool {
        let bytes = Array(path.utf8)
        return !bytes.isEmpty && !bytes.contains(0) && bytes.count <= maxPathBytes
    }

    /// Calls `body` with a `sockaddr_un` for `path` and returns what it returns (0 or an
    /// errno); returns ENAMETOOLONG or EINVAL without calling it if the path cannot be one.
    public static func with(_ path: String, _ body: (UnsafePointer<sockaddr>, socklen_t) -> Int32) -> Int32 {
        let bytes = Array(path.utf8)
        guard !bytes.isEmpty, !bytes.contains(0) else { return EINVAL }
        guard bytes.count <= maxPathBytes else { return ENAMETOOLONG }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { pathBytes in
            pathBytes.copyBytes(from: bytes)
        }
        let length = socklen_t(MemoryLayout<sockaddr_un>.size)
        return withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, length) }
        }
    }

    /// Whether someone accepts connections on the socket at `path`.
    public enum Probe: Equatable, Sendable { case listening, stale, gone, failed(Int32) }

    /// Connects to the socket once: ECONNREFUSED is the kernel's way of saying nothing is
    /// accepting on it any more (a previous process that exited without removing it).
    public static func probe(_ path: String) -> Probe {
        // Non-blocking: a live server with a full backlog must not hang the caller; it
        // answers EAGAIN instead, which also means someone is listening.
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return .failed(errno) }
        defer { close(fd) }
        // The closure returns 0 or the errno of the failed call, read before anything else runs.
        let result = with(path) { address, length in
            connect(fd, address, length) == 0 ? 0 : errno
        }
        switch result {
        case 0, EAGAIN: return .listening
        case ECONNREFUSED: return .stale
        case ENOENT: return .gone
        case let error: return .failed(error)
        }
    }
}
