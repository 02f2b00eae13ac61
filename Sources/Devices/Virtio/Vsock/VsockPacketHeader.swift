import SwiftletCore

/// `struct virtio_vsock_hdr` (virtio 1.x §5.10.6): 44 bytes, little endian, in front of
/// every packet on the receive and transmit queues.
public struct VsockPacketHeader: Sendable, Equatable {
    public static let size = 44
    /// The only socket type Swiftlet carries.
    public static let typeStream: UInt16 = 1

    public var sourceCID: UInt64
    public var destinationCID: UInt64
    public var sourcePort: UInt32
    public var destinationPort: UInt32
    /// Payload bytes after the header.
    public var length: UInt32
    public var type: UInt16
    public var operation: UInt16
    public var flags: UInt32
    /// The sender's receive buffer size, and how many bytes it has consumed from it.
    public var bufferAllocation: UInt32
    public var forwardCount: UInt32

    public init(
        sourceCID: UInt64, destinationCID: UInt64, sourcePort: UInt32, destinationPort: UInt32, length: UInt32 = 0,
        type: UInt16 = VsockPacketHeader.typeStream, operation: VsockOperation, flags: UInt32 = 0, bufferAllocation: UInt32 = 0,
        forwardCount: UInt32 = 0
    ) {
        self.init(
            sourceCID: sourceCID, destinationCID: destinationCID, sourcePort: sourcePort, destinationPort: destinationPort, length: length,
            type: type, rawOperation: operation.rawValue, flags: flags, bufferAllocation: bufferAllocation, forwardCount: forwardCount)
    }

    init(
        sourceCID: UInt64, destinationCID: UInt64, sourcePort: UInt32, destinationPort: UInt32, length: UInt32, type: UInt16, rawOperation: UInt16,
        flags: UInt32, bufferAllocation: UInt32, forwardCount: UInt32
    ) {
        self.sourceCID = sourceCID
        self.destinationCID = destinationCID
        self.sourcePort = sourcePort
        self.destinationPort = destinationPort
        self.length = length
        self.type = type
        self.operation = rawOperation
        self.flags = flags
        self.bufferAllocation = bufferAllocation
        self.forwardCount = forwardCount
    }

    /// Decodes the first 44 bytes of `bytes`; nil when there are fewer.
    public init?(decoding bytes: [UInt8]) {
        guard let sourceCID = bytes.loadLittleEndian(UInt64.self, at: 0), let destinationCID = bytes.loadLittleEndian(UInt64.self, at: 8),
            let sourcePort = bytes.loadLittleEndian(UInt32.self, at: 16), let destinationPort = bytes.loadLittleEndian(UInt32.self, at: 20),
            let length = bytes.loadLittleEndian(UInt32.self, at: 24), let type = bytes.loadLittleEndian(UInt16.self, at: 28),
            let operation = bytes.loadLittleEndian(UInt16.self, at: 30), let flags = bytes.loadLittleEndian(UInt32.self, at: 32),
            let bufferAllocation = bytes.loadLittleEndian(UInt32.self, at: 36), let forwardCount = bytes.loadLittleEndian(UInt32.self, at: 40)
        else { return nil }
        self.init(
            sourceCID: sourceCID, destinationCID: destinationCID, sourcePort: sourcePort, destinationPort: destinationPort, length: length,
            type: type, rawOperation: operation, flags: flags, bufferAllocation: bufferAllocation, forwardCount: forwardCount)
    }

    /// The 44 bytes as the guest sees them.
    public var bytes: [UInt8] {
        var bytes = [UInt8](repeating: 0, count: Self.size)
        store(into: &bytes)
        return bytes
    }

    /// Writes the header over the first 44 bytes of `bytes`, which must be that long.
    func store(into bytes: inout [UInt8]) {
        bytes.storeLittleEndian(sourceCID, at: 0)
        bytes.storeLittleEndian(destinationCID, at: 8)
        bytes.storeLittleEndian(sourcePort, at: 16)
        bytes.storeLittleEndian(destinationPort, at: 20)
        bytes.storeLittleEndian(length, at: 24)
        bytes.storeLittleEndian(type, at: 28)
        bytes.storeLittleEndian(operation, at: 30)
        bytes.storeLittleEndian(flags, at: 32)
        bytes.storeLittleEndian(bufferAllocation, at: 36)
        bytes.storeLittleEndian(forwardCount, at: 40)
    }

    /// The operation, nil when it is none the specification defines.
    public var knownOperation: VsockOperation? { VsockOperation(rawValue: operation) }
}

/// `op` of a vsock packet.
public enum VsockOperation: UInt16, Sendable {
    case request = 1
    case response = 2
    case reset = 3
    case shutdown = 4
    case readWrite = 5
    case creditUpdate = 6
    case creditRequest = 7
}

/// `flags` of a SHUTDOWN packet: which directions the sender closes.
public enum VsockShutdownFlag {
    /// The sender will receive no more.
    public static let receive: UInt32 = 1
    /// The sender will send no more.
    public static let send: UInt32 = 2
    public static let both: UInt32 = receive | send
}
