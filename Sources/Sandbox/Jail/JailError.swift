import SwiftletCore

/// Why the jail could not be set up. Nothing is executed after any of these.
public enum JailError: Error, Equatable, Sendable, CustomStringConvertible {
    case invalid(String)
    case system(SystemError)
    case cgroup(String)

    public var description: String {
        switch self {
        case .invalid(let message): return message
        case .system(let error): return "jail: \(error)"
        case .cgroup(let message): return "jail: cgroup: \(message)"
        }
    }
}
