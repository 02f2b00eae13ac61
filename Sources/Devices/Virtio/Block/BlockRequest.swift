import SwiftletCore

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
        case discard = 11
        case writeZeroes = 13
    }

    /// struct virtio_blk_outhdr: type (u32), reserved (u32), sector (u64).
    private enum Header {
        static let size: UInt64 = 16
        static let type = 0
        static let sector = 8
    }

    let type: UInt32
    let sector: UInt64
    /// Device-readable bytes after the header (the payload of a write).
    let readableData: [GuestBuffer]
    /// Device-writable bytes before the status (the destination of a read).
    let writableData: [GuestBuffer]
    /// The one device-writable byte the status goes to.
    let status: GuestBuffer

    /// The bytes a rate limiter's bandwidth bucket counts: the data read or written.
    var dataBytes: UInt64 {
        switch Kind(rawValue: type) {
        case .read: Self.total(writableData)
        case .write: Self.total(readableData)
        case .flush, .getID, .discard, .writeZeroes, nil: 0
        }
    }

    init(chain: DescriptorChain) throws {
        let readable = chain.readable
        let readableBytes = Self.total(readable)
        guard readableBytes >= Header.size else { throw VirtioBlockRequestError.headerTooShort(readableBytes: readableBytes) }
        let writable = chain.writable
        let writableBytes = Self.total(writable)
        guard writableBytes >= 1 else { throw VirtioBlockRequestError.noStatusByte }

        let (headerBuffers, payload) = Self.split(readable, at: Header.size)
        let header = try chain.readBytes(of: headerBuffers)
        guard let type = header.loadLittleEndian(UInt32.self, at: Header.type), let sector = header.loadLittleEndian(UInt64.self, at: Header.sector) else {
            throw VirtioBlockRequestError.headerTooShort(readableBytes: UInt64(header.count))
        }
        self.type = type
        self.sector = sector
        readableData = payload

        let (data, statusBuffers) = Self.split(writable, at: writableBytes - 1)
        writableData = data
        // `statusBuffers` holds exactly one byte, possibly after empty buffers.
        guard let status = statusBuffers.first(where: { $0.length > 0 }) else { throw VirtioBlockRequestError.noStatusByte }
        self.status = status
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
            } else if remaining > 0, let (first, rest) = buffer.split(at: UInt32(remaining)) {
                head.append(first)
                tail.append(rest)
                remaining = 0
            } else if length > 0 {
                tail.append(buffer)
            }
        }
        return (head, tail)
    }
}
