/// One contiguous range of guest-physical RAM backed by one host mapping.
public struct MemoryRegion: Sendable, Equatable {
    /// Guest-physical address of the first byte.
    public let guestBase: UInt64
    /// Size in bytes.
    public let size: UInt64
    /// Host address of the first byte. Stored as an integer so the struct stays Sendable;
    /// the owning `GuestMemory` keeps the mapping alive.
    public let hostAddress: UInt

    public init(guestBase: UInt64, size: UInt64, hostAddress: UInt) {
        self.guestBase = guestBase
        self.size = size
        self.hostAddress = hostAddress
    }

    /// The first guest address past the region.
    public var guestEnd: UInt64 { guestBase + size }

    /// Whether `[address, address+length)` lies inside this region, without overflow.
    public func contains(_ address: UInt64, length: UInt64) -> Bool {
        guard address >= guestBase else { return false }
        let offset = address - guestBase
        return offset <= size && length <= size - offset
    }

    public var hostPointer: UnsafeMutableRawPointer {
        UnsafeMutableRawPointer(bitPattern: hostAddress)!
    }
}
