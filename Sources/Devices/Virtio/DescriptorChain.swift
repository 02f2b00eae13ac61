/// One guest buffer of a descriptor chain, already checked to lie inside guest RAM.
public struct GuestBuffer: Sendable, Equatable {
    public let address: UInt64
    public let length: UInt32
    public let deviceWritable: Bool

    public init(address: UInt64, length: UInt32, deviceWritable: Bool) {
        self.address = address
        self.length = length
        self.deviceWritable = deviceWritable
    }
}

/// A validated chain: device-readable buffers first, then device-writable ones, total
/// length below 4 GiB, every buffer inside guest RAM.
public struct DescriptorChain: Sendable, Equatable {
    public let head: UInt16
    public let buffers: [GuestBuffer]

    public var readable: [GuestBuffer] { buffers.filter { !$0.deviceWritable } }
    public var writable: [GuestBuffer] { buffers.filter { $0.deviceWritable } }
}
