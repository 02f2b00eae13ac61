import SwiftletCore

/// Why a network interface could not be set up. Raised before the guest starts, so the user
/// sees which tap is wrong and why.
public enum VirtioNetError: Error, Equatable, Sendable, CustomStringConvertible {
    case invalidTapName(String)
    case tapNotFound(String)
    case cannotOpenTunDevice(SystemError)
    case cannotAttach(tap: String, SystemError)
    case cannotConfigure(tap: String, SystemError)

    public var description: String {
        switch self {
        case .invalidTapName(let name): return "tap name \"\(name)\" must be 1 to 15 bytes without \"/\" or spaces"
        case .tapNotFound(let name): return "tap device \(name) does not exist (create it first: ip tuntap add \(name) mode tap)"
        case .cannotOpenTunDevice(let error): return "cannot open /dev/net/tun: \(SystemError.message(error.errno.rawValue))"
        case .cannotAttach(let tap, let error):
            return "cannot attach to tap \(tap): \(SystemError.message(error.errno.rawValue)) (is it a tap owned by this user, not in use by another process?)"
        case .cannotConfigure(let tap, let error): return "cannot configure tap \(tap): \(error)"
        }
    }
}
