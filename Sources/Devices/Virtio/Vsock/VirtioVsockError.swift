import SwiftletCore

/// Why a vsock device could not be set up. Raised before the guest starts (or when a
/// snapshot is loaded), so the user sees which value is wrong.
public enum VirtioVsockError: Error, Equatable, Sendable, CustomStringConvertible {
    case invalidGuestCID(MachineLimits.Violation)
    case invalidSocketPath(String)
    case socketPathExists(String)
    case cannotListen(path: String, SystemError)

    public var description: String {
        switch self {
        case .invalidGuestCID(let violation): return violation.description
        case .invalidSocketPath(let path):
            return "vsock uds path \"\(path)\" must be 1 to \(VirtioVsock.maxSocketPathBytes) bytes, leaving room for the \"_PORT\" suffix of guest-initiated connections"
        case .socketPathExists(let path):
            return "vsock uds path \(path) already exists and is not a socket left over by an exited VMM; remove it or choose another path"
        case .cannotListen(let path, let error): return "cannot listen on the vsock uds path \(path): \(SystemError.message(error.errno.rawValue))"
        }
    }
}
