import SystemPackage

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A failed system call: what was attempted, on which path (if any), and the errno.
///
/// The one way Swiftlet turns errno into an error; its message is the C library's text, so
/// users see "No such file or directory", not a number.
public struct SystemError: Error, Equatable, Sendable, CustomStringConvertible {
    public var operation: String
    public var path: String?
    public var errno: Errno

    public init(_ operation: String, path: String? = nil, errno: Errno) {
        self.operation = operation
        self.path = path
        self.errno = errno
    }

    public init(_ operation: String, path: String? = nil, code: Int32) {
        self.init(operation, path: path, errno: Errno(rawValue: code))
    }

    /// Captures the calling thread's current errno.
    public static func last(_ operation: String, path: String? = nil) -> SystemError {
        SystemError(operation, path: path, code: Glibc.errno)
    }

    public var description: String {
        let target = path.map { " \($0)" } ?? ""
        return "\(operation)\(target): \(Self.message(errno.rawValue))"
    }

    /// The C library's text for an errno value.
    public static func message(_ code: Int32) -> String { String(cString: strerror(code)) }
}

/// Runs `call` again for as long as it fails with EINTR, so that a signal (the vCPU kick, a
/// terminal resize) never turns into a spurious error. Returns the final result; a failure
/// leaves errno set.
public func retryingOnInterrupt<Result: SignedInteger>(_ call: () -> Result) -> Result {
    while true {
        let result = call()
        if result == -1 && errno == EINTR { continue }
        return result
    }
}

/// `retryingOnInterrupt`, with -1 turned into a `SystemError` naming `operation`.
@discardableResult
public func systemCall<Result: SignedInteger>(_ operation: @autoclosure () -> String, path: String? = nil, _ call: () -> Result) throws(SystemError) -> Result {
    let result = retryingOnInterrupt(call)
    if result == -1 { throw SystemError.last(operation(), path: path) }
    return result
}
