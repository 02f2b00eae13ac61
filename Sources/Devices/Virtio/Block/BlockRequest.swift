import GuestMemory

/// A virtio-blk request split out of a descriptor chain (virtio 1.x §5.2.6).
///
/// Framing is not assumed (VERSION_1 implies ANY_LAYOUT): the header is the first 16
/// device-readable bytes wherever they fall, the status is the last device-writable byte,
/// and the data is whatever lies between.
struct BlockRequest {
    enum Kind: UInt32 {
        case read = 0  // VIRTIO_BLK_T_IN
        case write = 1  // VIRTIO_BLK_T_OUT
        case flush = 4
        case getID = 8
    }

    static let headerSize: UInt64 = 16

    let type: UInt32
    let sector: UInt64
    /// Device-readable bytes after the header (the payload of a write).
    let readableData: [GuestBuffer]
    /// Device-writable bytes before the status (the destination of a read).
    let writableData: [GuestBuffer]
    let statusAddress: UInt64

    init(chain: DescriptorChain, memory: GuestMemory) throws {
        let readable = chain.readable
        let readableBytes = Self.total(readable)
        guard readableBytes >= Self.headerSize else { throw VirtioBlockRequestError.headerTooShort(readableBytes: readableBytes) }
        let writable = chain.writable
        let writableBytes = Self.total(writable)
        guard writableBytes >= 1 else { throw VirtioBlockRequestError.noStatusByte }

        let (headerBuffers, payload) = Self.split(readable, at: Self.headerSize)
        var header: [UInt8] = []
        for buffer in headerBuffers { header += try memory.readBytes(at: buffer.address, count: Int(buffer.length)) }
        type = header[0..<4].reversed().reduce(0) { $0 << 8 | UInt32($1) }
        sector = header[8..<16].reversed().reduce(0) { $0 << 8 | UInt64($1) }
        readableData = payload

        let (data, status) = Self.split(writable, at: writableBytes - 1)
        writableData = data
        // `status` holds exactly one byte, possibly after empty buffers.
        statusAddress = status.first { $0.length > 0 }?.address ?? 0
    }

    static func total(_ buffers: [GuestBuffer]) -> UInt64 {
        buffers.reduce(0) { $0 + UInt64($1.length) }
    }

    /// Splits `buffers` after `count` bytes, cutting a buffer in two where needed.
    static func split(_ buffers: [GuestBuffer], at count: UInt64) -> (head: [GuestBuffer], tail: [GuestBuffer]) {
        var head: [GuestBuffer] = []
        var tail: [GuestBuffer] = []
        var remaining = count
        for buffer in buffers {
            let length = UInt64(buffer.length)
            if remaining >= length && remaining > 0 {
                head.append(buffer)
                remaining -= length
            } else if remaining > 0 {
                head.append(GuestBuffer(address: buffer.address, length: UInt32(remaining), deviceWritable: buffer.deviceWritable))
                tail.append(GuestBuffer(address: buffer.address + remaining, length: UInt32(length - remaining), deviceWritable: buffer.deviceWritable))
                remaining = 0
            } else if length > 0 {
                tail.append(buffer)
            }
        }
        return (head, tail)
    }
}
