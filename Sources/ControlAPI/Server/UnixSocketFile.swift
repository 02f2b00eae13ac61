import SwiftletCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Identifies one file system object, so `stop()` removes only the socket it created and not
/// a file someone else put at the same path since.
struct FileIdentity: Equatable, Sendable {
    var device: UInt64
    var inode: UInt64
}

/// Preparing the API socket path: stale-socket detection and a bind that is never reachable
/// with the wrong permissions.
enum UnixSocketFile {
    static let maxPathBytes = UnixSocketAddress.maxPathBytes

    /// Makes `path` free for binding. A missing path is fine; a socket nobody listens on
    /// (a previous Swiftlet that crashed) is removed; a live socket or any other kind of file
    /// is an error, because deleting it would break another VMM or destroy a user's file.
    static func clearStaleSocket(at path: String) throws(APIServerError) {
        var status = stat()
        guard lstat(path, &status) == 0 else {
            let error = errno
            if error == ENOENT { return }
            throw APIServerError("Cannot inspect the API socket path \(path): \(SystemError.message(error)).")
        }
        guard (status.st_mode & S_IFMT) == S_IFSOCK else {
            throw APIServerError("\(path) exists and is not a socket; refusing to replace it. Remove it or choose another --api-sock path.")
        }
        switch probe(path) {
        case .listening:
            throw APIServerError("Another process is already listening on the API socket \(path); is another Swiftlet running? Choose another --api-sock path.")
        case .stale:
            guard unlink(path) == 0 || errno == ENOENT else {
                throw APIServerError("Cannot remove the stale API socket \(path): \(SystemError.message(errno)).")
            }
        case .gone:
            return
        case .failed(let error):
            throw APIServerError("Cannot check whether the existing socket \(path) is in use: \(SystemError.message(error)).")
        }
    }

    typealias ProbeResult = UnixSocketAddress.Probe

    static func probe(_ path: String) -> ProbeResult { UnixSocketAddress.probe(path) }

    /// Creates a Unix stream socket bound at `path` with mode 0600 and returns it unlistened.
    /// The mode is fixed between bind and listen: until listen, connect() is refused, so no
    /// other user can get in through a momentarily wider mode.
    static func bindSocket(at path: String) throws(APIServerError) -> (descriptor: Int32, identity: FileIdentity) {
        let fd = socket(AF_UNIX, socketStreamType, 0)
        guard fd >= 0 else { throw APIServerError("Cannot create the API socket: \(SystemError.message(errno)).") }
        let bindError = withSocketAddress(path) { address, length in
            bind(fd, address, length) == 0 ? 0 : errno
        }
        guard bindError == 0 else {
            close(fd)
            throw APIServerError("Cannot bind the API socket \(path): \(SystemError.message(bindError)).")
        }
        var status = stat()
        guard chmod(path, 0o600) == 0, stat(path, &status) == 0 else {
            let error = errno
            close(fd)
            unlink(path)
            throw APIServerError("Cannot restrict the API socket \(path) to mode 0600: \(SystemError.message(error)).")
        }
        return (fd, FileIdentity(device: UInt64(status.st_dev), inode: UInt64(status.st_ino)))
    }

    /// Removes the socket file only if it is still the one `identity` describes.
    static func remove(_ path: String, ifStill identity: FileIdentity) {
        var status = stat()
        guard lstat(path, &status) == 0,
            FileIdentity(device: UInt64(status.st_dev), inode: UInt64(status.st_ino)) == identity
        else { return }
        unlink(path)
    }

    private static var socketStreamType: Int32 {
        #if canImport(Glibc)
        Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
        #else
        SOCK_STREAM
        #endif
    }

    /// Calls `body` with a `sockaddr_un` for `path` and returns what it returns (0 or an errno).
    static func withSocketAddress(
        _ path: String, _ body: (UnsafePointer<sockaddr>, socklen_t) -> Int32
    ) -> Int32 {
        UnixSocketAddress.with(path, body)
    }
}
