import SwiftletCore
import Synchronization

/// A virtio block device (virtio 1.x §5.2) backed by a host file or block device.
///
/// Offers FLUSH (the host page cache is a writeback cache; with the `writeback` cache type FLUSH
/// is fdatasync, with `unsafe` it is only acknowledged, as in Firecracker), SEG_MAX (so
/// Linux puts up to `segmentMax` data buffers in one request), MQ with more than one queue,
/// and RO for a read-only image. Every request is checked before any I/O, so a rejected request
/// never touches the file.
///
/// With the `sync` engine each request runs to its end on the device's worker before the next
/// is looked at. With `async` (VirtioBlock+Async.swift) reads, writes and flushes go to
/// io_uring, as many at once as the queues hold, and reach the used ring as they finish.
/// `direct` opens the image with O_DIRECT, bypassing the host's page cache.
///
/// The drive ID and read-only flag never change; the backing file can be replaced while the
/// guest runs (`replaceBackingFile`, Firecracker's `PATCH /drives`), and a request in flight
/// finishes on the file it started with. A snapshot saves the current path, the read-only flag
/// and the ID, and restore builds the device from them (`init(restoring:)`).
public final class VirtioBlock: VirtioDevice, BuildableFromState {
    public static let sectorSize: UInt64 = 512
    /// GET_ID answers with this many bytes: the drive ID, zero-padded.
    public static let idLength = MachineLimits.driveIDBytes
    public static let featureReadOnly: UInt64 = 1 << 5
    public static let featureFlush: UInt64 = 1 << 9
    /// VIRTIO_BLK_F_SEG_MAX: without it Linux sends one segment per request, so a 1 MiB
    /// O_DIRECT read of scattered user pages becomes 256 requests of 4 KiB.
    public static let featureSegmentMax: UInt64 = 1 << 2
    /// Data buffers per request. Two requests of this size (plus header and status each) still
    /// fit the ring together, since no indirect descriptors are offered.
    public static let segmentMax: UInt32 = UInt32(queueSize) / 2 - 2
    public static let queueSize: UInt16 = 256
    /// VIRTIO_BLK_F_MQ: `num_queues` in the config space says how many request queues there are.
    public static let featureMultiqueue: UInt64 = 1 << 12
    /// Queues a disk may have: Linux maps each to a set of CPUs, and more than it has CPUs buy
    /// nothing; the bound keeps a bad configuration from allocating without limit.
    public static let maxQueues = MachineLimits.diskQueueCount.upperBound

    enum Status: UInt8, Sendable {
        case ok = 0
        case ioError = 1
        case unsupported = 2
    }

    /// What a guest's FLUSH does (Firecracker's drive `cache_type`). Both offer FLUSH, so the
    /// guest's file systems order their writes the same way either way.
    public enum CacheType: String, Codable, Sendable, CaseIterable {
        /// FLUSH is fdatasync: what the guest flushed survives a host crash.
        case writeback
        /// FLUSH is only acknowledged: writes reach the host page cache and stay there until
        /// the host writes them back, so a host crash can lose what the guest flushed.
        case unsafe
    }

    /// Where reads, writes and flushes run (Firecracker's drive `io_engine`).
    public enum IOEngine: String, Codable, Sendable, CaseIterable {
        /// One request at a time, on the device's worker.
        case sync
        /// Many at once through io_uring (a small thread pool where the kernel refuses it),
        /// finishing out of order.
        case async
    }

    /// How the disk is served, beside its image: fixed when the device is made.
    public struct Options: Sendable, Equatable {
        public var cacheType: CacheType
        public var ioEngine: IOEngine
        /// O_DIRECT: the host page cache is bypassed (the image's file system must allow it).
        public var direct: Bool
        /// Request queues, 1 to `maxQueues`.
        public var queueCount: Int

        public init(cacheType: CacheType = .writeback, ioEngine: IOEngine = .sync, direct: Bool = false, queueCount: Int = 1) {
            self.cacheType = cacheType
            self.ioEngine = ioEngine
            self.direct = direct
            self.queueCount = queueCount
        }
    }

    public struct State: Codable, Sendable, Equatable {
        public var path: String
        public var readOnly: Bool
        public var id: String
        /// Absent in snapshots from before rate limiting; restored buckets start full.
        public var rateLimit: RateLimitConfiguration?
        /// Absent in snapshots from before cache types, which always synced: writeback.
        public var cacheType: CacheType?
        /// Absent in snapshots from before these options: sync, buffered, one queue.
        public var ioEngine: IOEngine?
        public var direct: Bool?
        public var queueCount: Int?

        public init(path: String, readOnly: Bool, id: String, rateLimit: RateLimitConfiguration? = nil, options: Options = Options()) {
            self.path = path
            self.readOnly = readOnly
            self.id = id
            self.rateLimit = rateLimit
            cacheType = options.cacheType
            ioEngine = options.ioEngine
            direct = options.direct
            queueCount = options.queueCount
        }

        /// The options as saved, with the defaults of older snapshots filled in.
        public var options: Options {
            Options(cacheType: cacheType ?? .writeback, ioEngine: ioEngine ?? .sync, direct: direct ?? false, queueCount: queueCount ?? 1)
        }
    }

    /// Requests and bytes served, for the metrics: what the guest asked for and got.
    public struct Counters: Sendable, Equatable {
        public var reads: UInt64 = 0
        public var writes: UInt64 = 0
        public var flushes: UInt64 = 0
        public var readBytes: UInt64 = 0
        public var writtenBytes: UInt64 = 0
        /// DISCARD and WRITE_ZEROES requests served.
        public var discards: UInt64 = 0
        public var zeroedRanges: UInt64 = 0
        /// Requests answered with an error status (bad sector range, host I/O error, unknown type).
        public var failedRequests: UInt64 = 0
    }

    public let readOnly: Bool
    public let id: String
    public let options: Options
    public var cacheType: CacheType { options.cacheType }
    /// The engine's name ("io_uring", or "threads" where the kernel refuses io_uring), nil with
    /// the sync engine.
    public var asynchronousEngineName: String? { asynchronous?.engine.name }
    /// Present with the async engine.
    let asynchronous: BlockAsynchronousIO?
    /// The path and open image, replaced together; read once per queue pass on the I/O queue.
    private let backing: Mutex<(path: String, file: BlockBackingFile)>
    /// Updated where requests finish (the worker, or the async engine's thread), read by the
    /// metrics writer once a minute.
    let counter = BlockRequestCounter()

    public var counters: Counters { counter.current }

    public let name = "virtio-blk"
    public let deviceType: UInt16 = 2
    public var deviceFeatures: UInt64 {
        Self.featureFlush | Self.featureSegmentMax | (readOnly ? Self.featureReadOnly : Self.featureDiscard | Self.featureWriteZeroes)
            | (options.queueCount > 1 ? Self.featureMultiqueue : 0)
    }
    public let queueMaxSizes: [UInt16]
    /// struct virtio_blk_config with room to spare: drivers read fields by offset and
    /// Linux BUG()s on reads past the advertised length, so unused fields read as zero.
    public let configSpaceSize = 0x60

    /// Firecracker's `rate_limiter` for this drive: requests wait in the ring until their
    /// tokens are there.
    private let limit: QueueRateLimit
    /// How a rate-limited queue gets looked at again once its tokens are due, and how finished
    /// asynchronous requests reach the used ring. Shared with the engine's completion handler,
    /// which must not hold the device.
    private let trigger = SharedTrigger()
    var currentTrigger: VirtioQueueTrigger? { trigger.current }

    /// Opens `path` (read-write unless `readOnly`). `id` is what GET_ID returns (at most 20 bytes).
    public convenience init(path: String, readOnly: Bool, id: String, rateLimit: RateLimitConfiguration? = nil, options: Options = Options()) throws {
        try self.init(path: path, readOnly: readOnly, id: id, rateLimit: rateLimit, options: options, engineChoice: .automatic)
    }

    /// `engineChoice` lets tests run the async engine on the thread pool that stands in for
    /// io_uring where the kernel refuses it, or on an engine of their own.
    init(path: String, readOnly: Bool, id: String, rateLimit: RateLimitConfiguration?, options: Options, engineChoice: BlockIOEngineChoice) throws {
        guard id.utf8.count <= Self.idLength else { throw VirtioBlockError.idTooLong(id) }
        guard (1...Self.maxQueues).contains(options.queueCount) else { throw VirtioBlockError.queueCount(options.queueCount, maximum: Self.maxQueues) }
        self.readOnly = readOnly
        self.id = id
        self.options = options
        queueMaxSizes = Array(repeating: Self.queueSize, count: options.queueCount)
        backing = Mutex((path, try BlockBackingFile(path: path, readOnly: readOnly, direct: options.direct)))
        limit = QueueRateLimit(rateLimit)
        if options.ioEngine == .async {
            // The engine's threads keep the context, and with it what a request in flight uses
            // (its chain, so guest RAM stays mapped, and its image), until they have ended; they
            // never hold the device, so it can go while requests are in flight.
            let context = BlockCompletionContext(
                table: BlockInFlightTable(queueSizes: queueMaxSizes), trigger: trigger, counter: counter)
            let engine = try engineChoice.makeEngine(name: "virtio-blk", depth: options.queueCount * Int(Self.queueSize)) { completions in
                context.deliver(completions)
            }
            asynchronous = BlockAsynchronousIO(engine: engine, context: context)
        } else {
            asynchronous = nil
        }
    }

    /// The rate limit as configured (nil: none).
    public var rateLimit: RateLimitConfiguration? { limit.configuration }

    /// Replaces the rate limit (`PATCH /drives` with a `rate_limiter`); the new buckets start
    /// full, and requests waiting for the old ones are looked at at once.
    public func setRateLimit(_ configuration: RateLimitConfiguration?) {
        limit.replace(with: configuration)
        let trigger = currentTrigger
        for queue in queueMaxSizes.indices { trigger?.requestProcessing(queue: queue) }
    }

    /// The image's path as last given (at construction or by `replaceBackingFile`).
    public var path: String { backing.withLock { $0.path } }
    private var file: BlockBackingFile { backing.withLock { $0.file } }

    /// Capacity in 512-byte sectors (a partial last sector is not exposed).
    public var capacity: UInt64 { Self.capacity(of: file) }

    private static func capacity(of file: BlockBackingFile) -> UInt64 { file.sizeInBytes / sectorSize }

    /// Puts the image at `newPath` behind the device, opened with the same read-only flag, and
    /// returns the new capacity. The transport must then tell the driver its configuration
    /// changed. Naming the image already open (by any path) re-reads its size instead, since a
    /// second open would collide with the first one's lock. On error the old image stays.
    @discardableResult
    public func replaceBackingFile(path newPath: String) throws(VirtioBlockError) -> UInt64 {
        let current = file
        let replacement: BlockBackingFile
        if let identity = current.identity, FileIdentity(path: newPath) == identity {
            replacement = try current.resized(path: newPath)
        } else {
            replacement = try BlockBackingFile(path: newPath, readOnly: readOnly, direct: options.direct)
        }
        backing.withLock { $0 = (newPath, replacement) }
        return Self.capacity(of: replacement)
    }

    // MARK: - VirtioDevice

    /// struct virtio_blk_config: capacity (u64) at 0, size_max (u32, not offered) at 8,
    /// seg_max (u32) at 12, num_queues (u16) at 34, the discard and write-zeroes limits at 36
    /// to 56 on a writable disk; every other field reads as zero.
    public func readConfig(offset: Int, data: UnsafeMutableRawBufferPointer) {
        var config = [UInt8](repeating: 0, count: configSpaceSize)
        config.storeLittleEndian(capacity, at: 0)
        config.storeLittleEndian(Self.segmentMax, at: 12)
        config.storeLittleEndian(UInt16(options.queueCount), at: 34)
        if !readOnly { Self.storeEraseLimits(in: &config) }
        answerConfigRead(from: config, offset: offset, into: data)
    }

    /// Nothing in our config space is writable (no CONFIG_WCE).
    public func writeConfig(offset: Int, data: UnsafeRawBufferPointer) {}

    public func activate(features: UInt64) throws {}

    /// Only the asynchronous engine keeps requests between calls: they finish, then are forgotten.
    public func reset() {
        abandonAsynchronousRequests()
    }

    public var asynchronousCompletionsQueued: UInt64 { asynchronous?.context.tracker.postedSoFar ?? 0 }

    public func settleAsynchronousWork() -> UInt64 { asynchronous?.context.tracker.waitUntilAllPosted() ?? 0 }

    public func connect(_ trigger: VirtioQueueTrigger) {
        self.trigger.current = trigger
    }

    public func process(queue: Virtqueue) throws {
        let file = file
        let trigger = currentTrigger
        let asynchronous = asynchronous
        let index = queue.index
        for _ in 0..<Int(queue.size) {
            guard let chain = try queue.popChain() else { return }
            let request = try BlockRequest(chain: chain)
            guard limit.admit(bytes: request.dataBytes, otherwise: { trigger?.requestProcessing(queue: index) }) else {
                // Left in the ring for the pass the timer asks for; the guest sees it pending.
                queue.unpop(1)
                return
            }
            if let asynchronous, try startAsynchronously(request, chain: chain, queue: queue, file: file, through: asynchronous) { continue }
            let (status, written) = execute(request, chain: chain, file: file)
            count(request, status: status)
            try chain.write(status.rawValue, to: request.status)
            try queue.addUsed(head: chain.head, length: written)
        }
    }

    /// Everything handed to the engine in the pass goes to the kernel in one submission, after
    /// the pass has released the queues' lock (`VirtioDevice.startQueuedWork`).
    public func startQueuedWork() {
        asynchronous?.engine.submitQueued()
    }

    // MARK: - Requests

    /// Runs one request; returns its status and how many bytes went into writable buffers
    /// (status byte included).
    private func execute(_ request: BlockRequest, chain: DescriptorChain, file: BlockBackingFile) -> (Status, UInt32) {
        switch BlockRequest.Kind(rawValue: request.type) {
        case .read:
            guard request.readableData.isEmpty, let offset = fileOffset(request, length: BlockRequest.total(request.writableData), file: file) else {
                return (.ioError, 1)
            }
            guard let destinations = try? request.writableData.map({ buffer throws(VirtqueueError) in try chain.writableContents(of: buffer) }) else {
                return (.ioError, 1)
            }
            if file.direct && !destinations.allSatisfy({ BlockBackingFile.isDirectAligned($0.baseAddress, count: $0.count) }) {
                guard file.readThroughBounce(into: destinations, at: offset) else { return (.ioError, 1) }
            } else {
                var position = offset
                for destination in destinations {
                    guard file.read(into: destination, at: position) else { return (.ioError, 1) }
                    position += UInt64(destination.count)
                }
            }
            return (.ok, UInt32(truncatingIfNeeded: BlockRequest.total(request.writableData) + 1))
        case .write:
            guard !readOnly, request.writableData.isEmpty,
                let offset = fileOffset(request, length: BlockRequest.total(request.readableData), file: file),
                let sources = try? request.readableData.map({ buffer throws(VirtqueueError) in try chain.contents(of: buffer) })
            else { return (.ioError, 1) }
            if file.direct && !sources.allSatisfy({ BlockBackingFile.isDirectAligned($0.baseAddress, count: $0.count) }) {
                return (file.writeThroughBounce(sources, at: offset) ? .ok : .ioError, 1)
            }
            var position = offset
            for source in sources {
                guard file.write(source, at: position) else { return (.ioError, 1) }
                position += UInt64(source.count)
            }
            return (.ok, 1)
        case .flush:
            guard request.readableData.isEmpty, request.writableData.isEmpty else { return (.ioError, 1) }
            return (cacheType == .unsafe || file.flush() ? .ok : .ioError, 1)
        case .getID:
            let length = BlockRequest.total(request.writableData)
            guard request.readableData.isEmpty, length >= UInt64(Self.idLength) else { return (.ioError, 1) }
            var bytes = Array(id.utf8.prefix(Self.idLength))
            bytes += Array(repeating: 0, count: Self.idLength - bytes.count)
            guard (try? chain.write(bytes, to: request.writableData)) != nil else { return (.ioError, 1) }
            return (.ok, UInt32(Self.idLength + 1))
        case .discard, .writeZeroes:
            guard !readOnly, request.writableData.isEmpty else { return (.ioError, 1) }
            return (erase(request, chain: chain, file: file), 1)
        case nil:
            return (.unsupported, 1)
        }
    }

    func count(_ request: BlockRequest, status: Status) {
        counter.count(request, succeeded: status == .ok)
    }

    /// The byte offset of the request if `[sector*512, +length)` is whole sectors inside the disk.
    func fileOffset(_ request: BlockRequest, length: UInt64, file: BlockBackingFile) -> UInt64? {
        guard length % Self.sectorSize == 0 else { return nil }
        let (offset, overflow) = request.sector.multipliedReportingOverflow(by: Self.sectorSize)
        // Only whole sectors are exposed, so a partial last sector is outside the disk too.
        let disk = AddressRange(start: 0, length: (file.sizeInBytes / Self.sectorSize) * Self.sectorSize)
        guard !overflow, let disk, disk.contains(offset, count: length) else { return nil }
        return offset
    }

    // MARK: - Snapshot

    public func saveState() -> State {
        State(path: path, readOnly: readOnly, id: id, rateLimit: rateLimit, options: options)
    }

    /// Opens the saved disk; the same checks as a boot apply (the ID's length, the queue
    /// count, the file).
    public convenience init(restoring state: State) throws {
        try self.init(path: state.path, readOnly: state.readOnly, id: state.id, rateLimit: state.rateLimit, options: state.options)
    }
}

extension VirtioBlock: HostFileBackedDevice {
    public var hostFiles: [(what: String, path: String, identity: FileIdentity?)] {
        let (path, file) = backing.withLock { $0 }
        return [("disk '\(id)'", path, file.identity)]
    }

    public func syncHostFiles() throws {
        guard !readOnly else { return }
        let (path, file) = backing.withLock { $0 }
        try file.sync(path: path)
    }
}

/// The trigger the transport hands over in `connect`, where the device and its engine's
/// completion handler both find it.
final class SharedTrigger: Sendable {
    private let trigger = Mutex<VirtioQueueTrigger?>(nil)

    var current: VirtioQueueTrigger? {
        get { trigger.withLock { $0 } }
        set { trigger.withLock { $0 = newValue } }
    }
}
