import SwiftletCore
import Synchronization

/// A virtio network device (virtio 1.x §5.1): receive queue 0, transmit queue 1, frames to
/// and from a `NetBackend` (a host tap) with the 12-byte virtio-net header passed through.
///
/// Receive reads the backend only while the guest has buffers posted, and holds at most one
/// frame that did not fit yet; everything else waits in the host's tap queue. Transmit runs
/// on the device's thread when the guest notifies, and writes the frames to the tap after the
/// pass (`TransmitStaging`). Guest mistakes cost one frame: a chain
/// that is not a receive buffer, a transmit frame shorter than its header or longer than
/// `maxPacketSize` is dropped and its buffers returned, and the device carries on.
///
/// Firecracker's `rx_rate_limiter` and `tx_rate_limiter` hold frames back, never drop them: a
/// received frame waits in `receiveBuffer` (and the rest in the tap), a frame to send stays in
/// the transmit ring, until the buckets have its tokens.
public final class VirtioNet: VirtioDevice, BuildableFromState {
    /// Feature bits (virtio 1.x §5.1.3).
    public enum Feature {
        public static let checksum: UInt64 = 1 << 0
        public static let guestChecksum: UInt64 = 1 << 1
        public static let mac: UInt64 = 1 << 5
        public static let guestTSO4: UInt64 = 1 << 7
        public static let guestTSO6: UInt64 = 1 << 8
        public static let hostTSO4: UInt64 = 1 << 11
        public static let hostTSO6: UInt64 = 1 << 12
        public static let mergeableReceiveBuffers: UInt64 = 1 << 15
        public static let status: UInt64 = 1 << 16
    }

    /// `struct virtio_net_hdr_v1`: with VERSION_1 it always includes num_buffers (at 10).
    public static let headerSize = 12
    static let numBuffersOffset = 10
    /// Header plus the largest frame a 64 KiB GSO packet makes (65535 + Ethernet and VLAN).
    public static let maxPacketSize = headerSize + 65550
    public static let queueSize: UInt16 = 256
    public static let receiveQueue = 0
    public static let transmitQueue = 1
    /// VIRTIO_NET_S_LINK_UP in the config space's status field.
    static let linkUp: UInt16 = 1

    public struct State: Codable, Sendable, Equatable {
        public var tap: String
        public var mac: MACAddress
        /// Absent in snapshots from before rate limiting; restored buckets start full.
        public var receiveRateLimit: RateLimitConfiguration?
        public var transmitRateLimit: RateLimitConfiguration?

        public init(tap: String, mac: MACAddress, receiveRateLimit: RateLimitConfiguration? = nil, transmitRateLimit: RateLimitConfiguration? = nil) {
            self.tap = tap
            self.mac = mac
            self.receiveRateLimit = receiveRateLimit
            self.transmitRateLimit = transmitRateLimit
        }
    }

    /// Frames and bytes moved, and frames dropped by reason; for metrics, tests and diagnostics.
    public struct Counters: Sendable, Equatable {
        public var received = 0
        public var transmitted = 0
        /// Frame bytes (virtio-net header included) delivered to the guest and sent for it.
        public var receivedBytes: UInt64 = 0
        public var transmittedBytes: UInt64 = 0
        /// Transmit chains shorter than a header or longer than `maxPacketSize`.
        public var malformedTransmits = 0
        /// Frames the host refused (its queue was full).
        public var refusedTransmits = 0
        /// Receive chains with device-readable buffers or no room: returned empty, frame lost.
        public var malformedReceiveChains = 0
        /// Frames larger than the buffers the guest could ever post for them, or shorter than a header.
        public var undeliverableFrames = 0
    }

    /// Everything that changes; only touched on the core's I/O queue (and by `connect`), so
    /// the lock is never contended.
    private struct Runtime {
        var trigger: VirtioQueueTrigger?
        var features: UInt64 = 0
        var watch: ReadinessWatch?
        /// Length of the frame in `receiveBuffer` still waiting for guest buffers or tokens.
        var heldFrameLength: Int?
        /// The held frame has had its tokens already.
        var heldFrameAdmitted = false
        var receiveBuffer = [UInt8](repeating: 0, count: VirtioNet.maxPacketSize)
        var outgoing = TransmitStaging()
        var counters = Counters()
    }

    private enum Delivery {
        case delivered
        case dropped
        case waitingForBuffers
    }

    public let tap: String
    public let mac: MACAddress
    private let backend: any NetBackend
    private let runtime = Mutex(Runtime())
    private let receiveLimit: QueueRateLimit
    private let transmitLimit: QueueRateLimit

    public let name = "virtio-net"
    public let deviceType: UInt16 = 1
    public let deviceFeatures: UInt64 =
        Feature.checksum | Feature.guestChecksum | Feature.mac | Feature.guestTSO4 | Feature.guestTSO6 | Feature.hostTSO4 | Feature.hostTSO6
        | Feature.mergeableReceiveBuffers | Feature.status
    public let queueMaxSizes: [UInt16] = [VirtioNet.queueSize, VirtioNet.queueSize]
    /// mac (6 bytes), status (u16), max_virtqueue_pairs (u16, unused without MQ) and room to
    /// spare; fields the guest may not read without a feature read as zero.
    public let configSpaceSize = 12

    /// Opens the tap `tap` (which must exist) for a guest interface with address `mac`.
    public convenience init(
        tap: String, mac: MACAddress, receiveRateLimit: RateLimitConfiguration? = nil, transmitRateLimit: RateLimitConfiguration? = nil
    ) throws {
        try self.init(
            tap: tap, mac: mac, backend: TapBackend(name: tap), receiveRateLimit: receiveRateLimit, transmitRateLimit: transmitRateLimit)
    }

    /// A device over any backend; `tap` is the name saved in snapshots.
    public init(
        tap: String, mac: MACAddress, backend: any NetBackend, receiveRateLimit: RateLimitConfiguration? = nil,
        transmitRateLimit: RateLimitConfiguration? = nil
    ) {
        self.tap = tap
        self.mac = mac
        self.backend = backend
        receiveLimit = QueueRateLimit(receiveRateLimit)
        transmitLimit = QueueRateLimit(transmitRateLimit)
    }

    public var receiveRateLimit: RateLimitConfiguration? { receiveLimit.configuration }
    public var transmitRateLimit: RateLimitConfiguration? { transmitLimit.configuration }

    /// Replaces either rate limit (nil leaves it as it is), for `PATCH /network-interfaces`;
    /// frames waiting for the old buckets are looked at at once.
    public func updateRateLimits(receive: RateLimitConfiguration?, transmit: RateLimitConfiguration?) {
        let trigger = runtime.withLock { $0.trigger }
        if let receive {
            receiveLimit.replace(with: receive)
            trigger?.requestProcessing(queue: Self.receiveQueue)
        }
        if let transmit {
            transmitLimit.replace(with: transmit)
            trigger?.requestProcessing(queue: Self.transmitQueue)
        }
    }

    public var counters: Counters { runtime.withLock { $0.counters } }

    // MARK: - VirtioDevice

    public func readConfig(offset: Int, data: UnsafeMutableRawBufferPointer) {
        var config = [UInt8](repeating: 0, count: configSpaceSize)
        config.replaceSubrange(0..<6, with: mac.bytes)
        config.storeLittleEndian(Self.linkUp, at: 6)
        answerConfigRead(from: config, offset: offset, into: data)
    }

    /// The MAC is not writable (no CTRL_MAC_ADDR), nor is anything else.
    public func writeConfig(offset: Int, data: UnsafeRawBufferPointer) {}

    public func connect(_ trigger: VirtioQueueTrigger) {
        runtime.withLock { $0.trigger = trigger }
    }

    public func activate(features: UInt64) throws {
        try backend.setReceiveOffloads(Self.receiveOffloads(features))
        runtime.withLock { runtime in
            runtime.features = features
            runtime.watch?.cancel()
            let trigger = runtime.trigger
            // Level-triggered: each pass reads the tap dry before the thread waits again, and
            // `receive` disarms the watch whenever it stops before that.
            // While the machine is paused it must not hear of the tap on every wait: the resume
            // processes the queue, and the pass arms the watch again once it reads the tap dry.
            let watch = trigger?.watch(backend.readinessDescriptor, oneShot: false) { [weak self] in
                if trigger?.requestProcessing(queue: Self.receiveQueue) == false { self?.disarmReceiveWatch() }
            }
            runtime.watch = watch
        }
    }

    private func disarmReceiveWatch() {
        runtime.withLock { $0.watch?.disarm() }
    }

    public func reset() {
        runtime.withLock { runtime in
            runtime.watch?.cancel()
            runtime.watch = nil
            runtime.heldFrameLength = nil
            runtime.heldFrameAdmitted = false
            runtime.features = 0
        }
        // Nothing may reach a guest that has not accepted offloads again.
        try? backend.setReceiveOffloads([])
    }

    public func process(queue: Virtqueue) throws {
        try runtime.withLock { runtime in
            switch queue.index {
            case Self.receiveQueue: try receive(into: queue, runtime: &runtime)
            case Self.transmitQueue: try transmit(from: queue, runtime: &runtime)
            default: break
            }
        }
    }

    /// What the tap may hand us, from what the guest accepted: TSO only with checksum
    /// offload, since a segmented frame always carries a partial checksum.
    static func receiveOffloads(_ features: UInt64) -> NetOffloads {
        guard features & Feature.guestChecksum != 0 else { return [] }
        var offloads: NetOffloads = .checksum
        if features & Feature.guestTSO4 != 0 { offloads.insert(.tso4) }
        if features & Feature.guestTSO6 != 0 { offloads.insert(.tso6) }
        return offloads
    }

    // MARK: - Receive

    /// Moves frames from the backend into posted buffers until either runs out, at most a
    /// queue's worth per call (then asks to be called again).
    private func receive(into queue: Virtqueue, runtime: inout Runtime) throws {
        for _ in 0..<Int(queue.size) {
            let length: Int
            if let held = runtime.heldFrameLength {
                length = held
            } else {
                guard let received = try runtime.receiveBuffer.withUnsafeMutableBytes({ try backend.receive(into: $0) }) else {
                    // Read dry: wake up when the next frame arrives.
                    runtime.watch?.arm()
                    return
                }
                length = received
            }
            runtime.heldFrameLength = nil
            guard length >= Self.headerSize else {
                runtime.counters.undeliverableFrames += 1
                continue
            }
            if !runtime.heldFrameAdmitted {
                let trigger = runtime.trigger
                guard receiveLimit.admit(bytes: UInt64(length), otherwise: { trigger?.requestProcessing(queue: Self.receiveQueue) }) else {
                    // Held until the timer brings us back; the tap keeps the rest.
                    runtime.heldFrameLength = length
                    runtime.watch?.disarm()
                    return
                }
            }
            runtime.heldFrameAdmitted = true
            defer { if runtime.heldFrameLength == nil { runtime.heldFrameAdmitted = false } }
            switch try deliver(length: length, queue: queue, runtime: &runtime) {
            case .delivered:
                runtime.counters.received += 1
                runtime.counters.receivedBytes += UInt64(length)
            case .dropped: break
            case .waitingForBuffers:
                // The guest's next notification on this queue brings us back.
                runtime.heldFrameLength = length
                runtime.watch?.disarm()
                return
            }
        }
        runtime.trigger?.requestProcessing(queue: Self.receiveQueue)
    }

    /// Places the frame in `receiveBuffer[0..<length]` into one chain, or with MRG_RXBUF into
    /// as many as it needs, and sets num_buffers.
    private func deliver(length: Int, queue: Virtqueue, runtime: inout Runtime) throws -> Delivery {
        let mergeable = runtime.features & Feature.mergeableReceiveBuffers != 0
        let chainLimit = mergeable ? Int(queue.size) : 1
        var chains: [DescriptorChain] = []
        var room = 0
        while room < length {
            guard chains.count < chainLimit else {
                // More than the guest could ever post for one frame: it cannot be delivered.
                queue.unpop(chains.count)
                runtime.counters.undeliverableFrames += 1
                return .dropped
            }
            guard let chain = try queue.popChain() else {
                queue.unpop(chains.count)
                return .waitingForBuffers
            }
            let chainRoom = chain.writable.reduce(0) { $0 + Int($1.length) }
            guard chain.readable.isEmpty, chainRoom > 0 else {
                // Not a receive buffer. Give back it and those already taken, all empty: the
                // frame is lost, the queue goes on.
                for taken in chains + [chain] { try queue.addUsed(head: taken.head, length: 0) }
                runtime.counters.malformedReceiveChains += 1
                return .dropped
            }
            chains.append(chain)
            room += chainRoom
        }
        runtime.receiveBuffer.storeLittleEndian(UInt16(chains.count), at: Self.numBuffersOffset)
        var offset = 0
        try runtime.receiveBuffer.withUnsafeBytes { frame in
            for chain in chains {
                var written = 0
                for buffer in chain.writable where offset < length {
                    let destination = try chain.writableContents(of: buffer)
                    let count = min(destination.count, length - offset)
                    destination.copyMemory(from: UnsafeRawBufferPointer(rebasing: frame[offset..<offset + count]))
                    offset += count
                    written += count
                }
                try queue.addUsed(head: chain.head, length: UInt32(written))
            }
        }
        return .delivered
    }

    // MARK: - Transmit

    /// Sends every posted frame, at most a queue's worth per call (the core calls again when
    /// more arrived meanwhile).
    private func transmit(from queue: Virtqueue, runtime: inout Runtime) throws {
        for _ in 0..<Int(queue.size) {
            guard let chain = try queue.popChain() else { return }
            let readable = chain.readable
            let length = readable.reduce(0) { $0 + Int($1.length) }
            let trigger = runtime.trigger
            guard transmitLimit.admit(bytes: UInt64(length), otherwise: { trigger?.requestProcessing(queue: Self.transmitQueue) }) else {
                // Stays in the ring until the timer brings us back.
                queue.unpop(1)
                return
            }
            if length >= Self.headerSize && length <= Self.maxPacketSize {
                if !runtime.outgoing.hasRoom(for: length) { sendStagedFrames(&runtime) }
                try runtime.outgoing.stage(length: length) { packet in
                    var offset = 0
                    for buffer in readable {
                        let source = try chain.contents(of: buffer)
                        UnsafeMutableRawBufferPointer(rebasing: packet[offset..<offset + source.count]).copyMemory(from: source)
                        offset += source.count
                    }
                }
            } else {
                runtime.counters.malformedTransmits += 1
            }
            try queue.addUsed(head: chain.head, length: 0)
        }
    }

    /// The pass is over and its interrupt raised: the frames it copied go to the tap now.
    public func startQueuedWork() {
        runtime.withLock { sendStagedFrames(&$0) }
    }

    private func sendStagedFrames(_ runtime: inout Runtime) {
        guard !runtime.outgoing.isEmpty else { return }
        let result = runtime.outgoing.flush(to: backend)
        runtime.counters.transmitted += result.sent
        runtime.counters.transmittedBytes += result.sentBytes
        runtime.counters.refusedTransmits += result.refused
    }

    // MARK: - Snapshot

    public func saveState() -> State {
        State(tap: tap, mac: mac, receiveRateLimit: receiveRateLimit, transmitRateLimit: transmitRateLimit)
    }

    /// Reopens the saved tap by name; a frame held at the snapshot is lost, as on a real link.
    public convenience init(restoring state: State) throws {
        try self.init(tap: state.tap, mac: state.mac, receiveRateLimit: state.receiveRateLimit, transmitRateLimit: state.transmitRateLimit)
    }
}
