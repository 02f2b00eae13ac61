#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import SwiftletCore
import Synchronization

/// A virtio socket device (virtio 1.x §5.10) in Firecracker's hybrid model: the guest's
/// stream sockets reach host programs through Unix sockets.
///
/// - Host to guest: a program connects to `udsPath` and writes `CONNECT <port>\n`; once the
///   guest accepts, it reads `OK <host port>\n` and the stream is relayed.
/// - Guest to host: a guest connection to CID 2, port P reaches whoever listens at
///   `<udsPath>_P`; nobody there means RST.
///
/// Queues: receive 0 (device to guest), transmit 1, event 2. Credit-based flow control bounds
/// both directions: host bytes stay in the host socket until the guest has room, and guest
/// bytes wait in a per-connection buffer no larger than the credit we advertise. Every guest
/// value is checked; a bad packet costs that packet or its connection, never the device.
public final class VirtioVsock: VirtioDevice, BuildableFromState {
    public static let hostCID: UInt64 = 2
    /// Largest payload we send or accept in one packet (Linux's VIRTIO_VSOCK_MAX_PKT_BUF_SIZE).
    public static let maxPayload = 64 << 10
    /// Open connections plus host programs still handshaking.
    public static let maxConnections = 64
    static let maxPendingResets = 2 * maxConnections
    public static let queueSize: UInt16 = 256
    public static let receiveQueue = 0
    public static let transmitQueue = 1
    public static let eventQueue = 2
    /// VIRTIO_VSOCK_EVENT_TRANSPORT_RESET.
    static let transportResetEvent: UInt32 = 0
    /// Host ports of host-initiated connections start here, clear of ports guests usually dial.
    static let firstEphemeralPort: UInt32 = 1 << 30
    /// Room for the "_4294967295" suffix of guest-initiated connections.
    public static let maxSocketPathBytes = UnixSocketAddress.maxPathBytes - 11

    public struct State: Codable, Sendable, Equatable {
        public var guestCID: UInt64
        public var udsPath: String

        public init(guestCID: UInt64, udsPath: String) {
            self.guestCID = guestCID
            self.udsPath = udsPath
        }
    }

    /// What the device did and refused; for tests and diagnostics.
    public struct Counters: Sendable, Equatable {
        public var packetsToGuest = 0
        public var packetsFromGuest = 0
        public var bytesToGuest = 0
        public var bytesFromGuest = 0
        /// Guest packets that were short, over-long, of another type, or broke the credit rules.
        public var malformedPackets = 0
        /// Receive chains that cannot hold a header (or have device-readable buffers).
        public var unusableReceiveChains = 0
        /// Connections refused: nobody listening, too many open, a bad CONNECT line.
        public var refusedConnections = 0
        /// RSTs not sent because too many were already waiting for guest buffers.
        public var droppedResets = 0
    }

    public let guestCID: UInt64
    public let udsPath: String
    let listener: Int32
    private let socketIdentity: FileIdentity?
    private let runtime = Mutex(VsockRuntime())

    public let name = "virtio-vsock"
    public let deviceType: UInt16 = 19
    /// Stream sockets only: with no feature bits, VIRTIO_VSOCK_F_STREAM is implied.
    public let deviceFeatures: UInt64 = 0
    public let queueMaxSizes: [UInt16] = [VirtioVsock.queueSize, VirtioVsock.queueSize, VirtioVsock.queueSize]
    /// guest_cid, a little-endian u64.
    public let configSpaceSize = 8

    /// Checks the CID and path, and listens at `udsPath` (which must not exist yet).
    public init(guestCID: UInt64, udsPath: String) throws(VirtioVsockError) {
        do { try MachineLimits.checkVsockGuestCID(guestCID) } catch { throw .invalidGuestCID(error) }
        guard UnixSocketAddress.fits(udsPath), udsPath.utf8.count <= Self.maxSocketPathBytes else { throw .invalidSocketPath(udsPath) }
        self.guestCID = guestCID
        self.udsPath = udsPath
        listener = try VsockHostSocket.listen(at: udsPath)
        socketIdentity = FileIdentity(path: udsPath)
    }

    deinit {
        runtime.withLock { Self.closeAll(&$0) }
        close(listener)
        // Only our own socket: someone may have replaced the path meanwhile.
        if let socketIdentity, FileIdentity(path: udsPath) == socketIdentity { unlink(udsPath) }
    }

    public var counters: Counters { runtime.withLock { $0.counters } }
    /// Connections open or handshaking, for tests.
    public var openConnectionCount: Int { runtime.withLock { $0.openCount } }

    // MARK: - VirtioDevice

    public func readConfig(offset: Int, data: UnsafeMutableRawBufferPointer) {
        let config = [UInt8].littleEndian(guestCID)
        answerConfigRead(from: config, offset: offset, into: data)
    }

    /// The CID is the host's choice; nothing in the config space is writable.
    public func writeConfig(offset: Int, data: UnsafeRawBufferPointer) {}

    public func connect(_ trigger: VirtioQueueTrigger) {
        runtime.withLock { $0.trigger = trigger }
    }

    /// Starts taking host connections; until now they wait in the listen backlog.
    public func activate(features: UInt64) throws {
        runtime.withLock { runtime in
            runtime.listenerWatch?.cancel()
            let trigger = runtime.trigger
            let readable = runtime.listenerReadable
            readable.set()
            runtime.listenerWatch = trigger?.watch(listener) {
                readable.set()
                trigger?.requestProcessing(queue: Self.receiveQueue)
            }
        }
    }

    /// Drops every connection (the guest forgot them too); a pending transport-reset event
    /// stays, since it is what a restored guest still needs to hear.
    public func reset() {
        runtime.withLock { Self.closeAll(&$0) }
    }

    public func process(queue: Virtqueue) throws {
        try runtime.withLock { runtime in
            defer { runtime.connections.removeAll { $0.closed } }
            serviceHost(&runtime)
            switch queue.index {
            case Self.receiveQueue:
                try fillReceiveQueue(queue, runtime: &runtime)
                return
            case Self.transmitQueue: try drainTransmitQueue(queue, runtime: &runtime)
            case Self.eventQueue: try sendEvents(queue, runtime: &runtime)
            default: return
            }
            // Replies, credit updates and resets go out on the receive queue.
            if runtime.hasReceiveWork { runtime.trigger?.requestProcessing(queue: Self.receiveQueue) }
        }
    }

    private static func closeAll(_ runtime: inout VsockRuntime) {
        runtime.listenerWatch?.cancel()
        runtime.listenerWatch = nil
        for connection in runtime.connections { connection.close() }
        for handshake in runtime.handshakes { handshake.close() }
        runtime.connections = []
        runtime.handshakes = []
        runtime.pendingResets = []
    }

    // MARK: - Events

    /// Tells a restored guest that every connection it had is gone (Firecracker does the same).
    private func sendEvents(_ queue: Virtqueue, runtime: inout VsockRuntime) throws {
        guard runtime.transportResetPending, let chain = try queue.popChain() else { return }
        let event = [UInt8].littleEndian(Self.transportResetEvent)
        guard chain.readable.isEmpty, try chain.write(event, to: chain.writable) == event.count else {
            try queue.addUsed(head: chain.head, length: 0)
            runtime.counters.unusableReceiveChains += 1
            return
        }
        try queue.addUsed(head: chain.head, length: UInt32(event.count))
        runtime.transportResetPending = false
    }

    // MARK: - Snapshot

    /// Connections are not saved: host programs cannot follow the guest into another process.
    public func saveState() -> State {
        State(guestCID: guestCID, udsPath: udsPath)
    }

    /// Listens at the saved path again and tells the guest, once it runs, that its
    /// connections were reset.
    public convenience init(restoring state: State) throws {
        try self.init(guestCID: state.guestCID, udsPath: state.udsPath)
        runtime.withLock { $0.transportResetPending = true }
    }
}
