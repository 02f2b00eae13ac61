import GuestMemory
import SwiftletCore

/// Guest RAM of `size` bytes from address 0, as the boot tests use.
func lowRAM(_ size: UInt64) throws -> GuestMemory {
    try GuestMemory(layout: [AddressRange(start: 0, length: size)!])
}

extension GuestAddress {
    /// Test shorthand for a field `offset` bytes into a structure (traps on overflow, which
    /// these constant offsets never reach).
    static func + (address: GuestAddress, offset: UInt64) -> GuestAddress { GuestAddress(address.rawValue + offset) }
}
