import SwiftletCore

/// Why an allowlist, a filter file or a filter installation was refused.
public enum SeccompError: Error, Equatable, Sendable, CustomStringConvertible {
    case unknownSystemCall(kind: ThreadKind, name: String)
    case duplicateSystemCall(kind: ThreadKind, name: String)
    case badArgumentIndex(kind: ThreadKind, name: String, index: Int)
    case noArgumentValues(kind: ThreadKind, name: String)
    case unknownIoctlName(kind: ThreadKind, name: String)
    case programTooLong(kind: ThreadKind, instructions: Int, limit: Int)
    case filterFile(path: String, reason: String)
    case install(kind: ThreadKind, operation: String, errno: Int32)
    case badDebugSetting(variable: String, value: String)

    public var description: String {
        switch self {
        case .unknownSystemCall(let kind, let name):
            return "seccomp allowlist for \(kind.rawValue) threads: unknown system call '\(name)'"
        case .duplicateSystemCall(let kind, let name):
            return "seccomp allowlist for \(kind.rawValue) threads: '\(name)' is listed more than once"
        case .badArgumentIndex(let kind, let name, let index):
            return "seccomp allowlist for \(kind.rawValue) threads: '\(name)' argument \(index) is not one of 0-5"
        case .noArgumentValues(let kind, let name):
            return "seccomp allowlist for \(kind.rawValue) threads: '\(name)' has an argument condition with no values"
        case .unknownIoctlName(let kind, let name):
            return "seccomp allowlist for \(kind.rawValue) threads: unknown ioctl request name '\(name)'"
        case .programTooLong(let kind, let instructions, let limit):
            return "seccomp filter for \(kind.rawValue) threads: \(instructions) BPF instructions, more than the kernel's \(limit)"
        case .filterFile(let path, let reason):
            return "seccomp filter file \(path): \(reason)"
        case .install(let kind, let operation, let errno):
            return "cannot install the seccomp filter for \(kind.rawValue) threads: \(operation): \(SystemError.message(errno))"
        case .badDebugSetting(let variable, let value):
            return "\(variable)=\(value): expected 0, 1, trap or log"
        }
    }
}
