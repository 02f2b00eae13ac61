import GuestMemory
import Synchronization

/// A virtio block device (virtio 1.x §5.2) backed by a host file or block device.
///
/// Offers FLUSH (the host page cache is a writeback cache; FLUSH is fdatasync) and RO for a
/// read-only image; no SEG_MAX, so Linux sends one data buffer per request. Every request is
/// checked before any I/O, so a rejected request never touches the file.
public final class VirtioBlock: VirtioDevice {
    public static let sectorSize: UInt64 = 512
    public static let idLength = 20
    public static let featureReadOnly: UInt64 = 1 << 5
    public static let featureFlush: UInt64 = 1 << 9
    /// VIRTIO_BLK_F_SEG_MAX: without it Linux sends one segment per request, so a 1 MiB
    /// O_DIRECT read of scattered user pages becomes 256 requests of 4 KiB.
    public static let featureSegmentMax: UInt64 = 1 << 2
    /// Data buffers per request. Two requests of this size (plus header and status each) still
    /// fit the ring together, since no indirect descriptors are offered.
    public static let segmentMax: UInt32 = UInt32(queueSize) / 2 - 2
    public static let queueSize: UInt16 = 256

    enum Status: UInt8 {
        case ok = 0
        case ioError = 1
        case unsupported = 2
    }

    public struct State: Codable, Sendable, Equatable {
        public var path: String
        public var readOnly: Bool
        public var id: String
    }

    private struct Disk {
        var file: BlockBackingFile
        var path: String
        var id: String
    }

    public let readOnly: Bool
    private let disk: Mutex<Disk>

    public let name = "virtio-blk"
    public let deviceType: UInt16 = 2
    public var deviceFeatures: UInt64 { Self.featureFlush | Self.featureSegmentMax | (readOnly ? Self.featureReadOnly : 0) }
    public let queueMaxSizes: [UInt16] = [VirtioBlock.queueSize]
    /// struct virtio_blk_config with room to spare: drivers read fields by offset and
    /// Linux BUG()s on reads past the advertised length, so unused fields read as zero.
    public let configSpaceSize = 0x60

    /// Opens `path` (read-write unless `readOnly`). `id` is what GET_ID returns (at most 20 bytes).
    public init(path: String, readOnly: Bool, id: String) throws {
        guard id.utf8.count <= Self.idLength else { throw VirtioBlockError.idTooLong(id) }
        self.readOnly = readOnly
        disk = Mutex(Disk(file: try BlockBackingFile(path: path, readOnly: readOnly), path: path, id: id))
    }

    public convenience init(state: State) throws {
        try self.init(path: state.path, readOnly: state.readOnly, id: state.id)
    }

    public var path: String { disk.withLock { $0.path } }
    public var id: String { disk.withLock { $0.id } }
    /// Capacity in 512-byte sectors (a partial last sector is not exposed).
    public var capacity: UInt64 { disk.withLock { $0.file.sizeInBytes } / Self.sectorSize }

    // MARK: - VirtioDevice

    /// struct virtio_blk_config: capacity (u64) at 0, size_max (u32, not offered) at 8,
    /// seg_max (u32) at 12; every other field reads as zero.
    public func readConfig(offset: Int, data: UnsafeMutableRawBufferPointer) {
        let sectors = capacity
        for index in 0..<data.count {
            let position = offset + index
            switch position {
            case 0..<8: data[index] = UInt8(truncatingIfNeeded: sectors >> (8 * UInt64(position)))
            case 12..<16: data[index] = UInt8(truncatingIfNeeded: Self.segmentMax >> (8 * UInt32(position - 12)))
            default: data[index] = 0
            }
        }
    }

    /// Nothing in our config space is writable (no CONFIG_WCE).
    public func writeConfig(offset: Int, data: UnsafeRawBufferPointer) {}

    public func activate(features: UInt64) throws {}

    /// No request state survives between calls, so there is nothing to drop.
    public func reset() {}

    public func process(queue: Virtqueue) throws {
        let disk = disk.withLock { $0 }
        for _ in 0..<Int(queue.size) {
            guard let chain = try queue.popChain() else { return }
            let request = try BlockRequest(chain: chain, memory: queue.memory)
            let (status, written) = execute(request, file: disk.file, id: disk.id, memory: queue.memory)
            try queue.memory.write(status.rawValue, at: request.statusAddress)
            try queue.addUsed(head: chain.head, length: written)
        }
    }

    // MARK: - Requests

    /// Runs one request; returns its status and how many bytes went into writable buffers
    /// (status byte included).
    private func execute(_ request: BlockRequest, file: BlockBackingFile, id: String, memory: GuestMemory) -> (Status, UInt32) {
        switch BlockRequest.Kind(rawValue: request.type) {
        case .read:
            guard request.readableData.isEmpty, let offset = fileOffset(request, length: BlockRequest.total(request.writableData), file: file) else {
                return (.ioError, 1)
            }
            var position = offset
            for buffer in request.writableData {
                guard let destination = try? memory.buffer(at: buffer.address, length: UInt64(buffer.length)),
                    file.read(into: destination, at: position)
                else { return (.ioError, 1) }
                position += UInt64(buffer.length)
            }
            return (.ok, UInt32(truncatingIfNeeded: BlockRequest.total(request.writableData) + 1))
        case .write:
            guard !readOnly, request.writableData.isEmpty,
                let offset = fileOffset(request, length: BlockRequest.total(request.readableData), file: file)
            else { return (.ioError, 1) }
            var position = offset
            for buffer in request.readableData {
                guard let source = try? memory.buffer(at: buffer.address, length: UInt64(buffer.length)),
                    file.write(UnsafeRawBufferPointer(source), at: position)
                else { return (.ioError, 1) }
                position += UInt64(buffer.length)
            }
            return (.ok, 1)
        case .flush:
            guard request.readableData.isEmpty, request.writableData.isEmpty else { return (.ioError, 1) }
            return (file.flush() ? .ok : .ioError, 1)
        case .getID:
            let length = BlockRequest.total(request.writableData)
            guard request.readableData.isEmpty, length >= UInt64(Self.idLength) else { return (.ioError, 1) }
            var bytes = Array(id.utf8.prefix(Self.idLength))
            bytes += Array(repeating: 0, count: Self.idLength - bytes.count)
            var written = 0
            for buffer in request.writableData where written < bytes.count {
                let count = min(Int(buffer.length), bytes.count - written)
                guard (try? memory.write(bytes: bytes[written..<(written + count)], at: buffer.address)) != nil else { return (.ioError, 1) }
                written += count
            }
            return (.ok, UInt32(Self.idLength + 1))
        case nil:
            return (.unsupported, 1)
        }
    }

    /// The byte offset of the request if `[sector*512, +length)` is whole sectors inside the disk.
    private func fileOffset(_ request: BlockRequest, length: UInt64, file: BlockBackingFile) -> UInt64? {
        guard length % Self.sectorSize == 0 else { return nil }
        let (offset, overflow) = request.sector.multipliedReportingOverflow(by: Self.sectorSize)
        guard !overflow else { return nil }
        let (end, endOverflow) = offset.addingReportingOverflow(length)
        guard !endOverflow, end <= (file.sizeInBytes / Self.sectorSize) * Self.sectorSize else { return nil }
        return offset
    }

    // MARK: - Snapshot

    public func saveState() -> State {
        disk.withLock { State(path: $0.path, readOnly: readOnly, id: $0.id) }
    }

    /// Adopts the saved disk: reopens it when the path differs. The read-only flag decides
    /// the offered features, so it must match the device this state is restored into.
    public func restoreState(_ state: State) throws {
        guard state.readOnly == readOnly else { throw VirtioBlockError.stateMismatch("read-only flag differs") }
        guard state.id.utf8.count <= Self.idLength else { throw VirtioBlockError.idTooLong(state.id) }
        let current = path
        let file = state.path == current ? nil : try BlockBackingFile(path: state.path, readOnly: readOnly)
        disk.withLock { disk in
            if let file { disk.file = file }
            disk.path = state.path
            disk.id = state.id
        }
    }
}
