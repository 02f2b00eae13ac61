import SwiftletCore

/// Why an access to guest memory was refused.
public enum GuestMemoryError: Error, Equatable, Sendable, CustomStringConvertible {
    /// `[address, address+length)` is not fully inside one RAM region (or wraps around).
    case outOfBounds(address: GuestAddress, length: UInt64)
    /// The host refused to map memory for the guest.
    case mapFailed(size: UInt64, error: SystemError)
    /// Region layout is unusable: overlapping, empty or unaligned.
    case invalidLayout(String)

    public var description: String {
        switch self {
        case .outOfBounds(let address, let length):
            return "guest memory access out of bounds: \(address) + \(length) bytes"
        case .mapFailed(let size, let error):
            return "cannot map \(size >> 20) MiB of guest memory: \(error)"
        case .invalidLayout(let why):
            return "invalid guest memory layout: \(why)"
        }
    }
}
