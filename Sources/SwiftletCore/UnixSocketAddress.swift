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
}
