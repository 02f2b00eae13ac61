import SwiftletCore

/// One contiguous range of guest-physical RAM backed by one host mapping.
public struct MemoryRegion: Sendable, Equatable {
    /// The guest-physical addresses the region covers.
    public let range: AddressRange
    /// Host address of the first byte. Stored as an integer so the struct stays Sendable;
    /// the owning `GuestMemory` keeps the mapping alive.
    public let hostAddress: UInt

    public init(range: AddressRange, hostAddress: UInt) {
        self.range = range
        self.hostAddress = hostAddress
    }

    public var guestBase: GuestAddress { GuestAddress(range.start) }
    public var size: UInt64 { range.length }

    public var hostPointer: UnsafeMutableRawPointer {
        UnsafeMutableRawPointer(bitPattern: hostAddress)!
    }
}
