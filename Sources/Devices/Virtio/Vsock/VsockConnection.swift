#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// One stream between a guest port and a host Unix socket, with the credit accounting of
/// virtio 1.x §5.10.6.3 for both directions.
///
/// Guest to host: the guest may have at most `bufferAllocation` bytes in flight that the host
/// socket has not taken yet; they wait in `pendingToHost`, so that buffer is bounded by the
/// credit we advertise, and a guest that sends more than that breaks only this connection.
/// Host to guest: we send at most the guest's advertised free space, and otherwise leave the
/// bytes in the host socket.
///
/// `@unchecked Sendable`: it lives in the device's `VsockRuntime` and is only touched under
/// that runtime's lock (on the I/O queue); the watches reach it only through its flags.
final class VsockConnection: @unchecked Sendable {
    /// What we advertise as our receive buffer per connection.
    static let bufferAllocation: UInt32 = 256 << 10
    /// We tell the guest about freed space once this much was forwarded since we last did,
    /// so a sender in one direction never waits on a stale count for long.
    static let creditUpdateThreshold: UInt32 = 64 << 10

    enum Phase: Equatable {
        /// Host-initiated: REQUEST sent (or to send), waiting for the guest's RESPONSE.
        case awaitingGuestResponse
        case established
    }

    /// The host side's port (the one the guest addresses) and the guest's.
    let localPort: UInt32
    let peerPort: UInt32
    let socket: Int32
    var phase: Phase

    // Host to guest.
    var peerBufferAllocation: UInt32 = 0
    var peerForwardCount: UInt32 = 0
    var sentToPeer: UInt32 = 0

    // Guest to host.
    var pendingToHost: [UInt8] = []
    var forwardedToHost: UInt32 = 0
    var advertisedForwardCount: UInt32 = 0

    // Control packets owed to the guest.
    var owesRequest = false
    var owesResponse = false
    var owesCreditUpdate = false
    /// SHUTDOWN flags still to send, 0 for none.
    var owesShutdown: UInt32 = 0

    /// SHUTDOWN flags the guest sent so far.
    var guestShutdown: UInt32 = 0
    /// The host closed its sending side; the guest was (or will be) told.
    var hostEnded = false
    var hostWriteClosed = false

    /// Set by `close()`: the device drops the connection at the end of its pass.
    private(set) var closed = false

    let readable = VsockReadinessFlag(true)
    let writable = VsockReadinessFlag(true)
    var readWatch: ReadinessWatch?
    var writeWatch: ReadinessWatch?

    init(localPort: UInt32, peerPort: UInt32, socket: Int32, phase: Phase) {
        self.localPort = localPort
        self.peerPort = peerPort
        self.socket = socket
        self.phase = phase
    }

    /// Bytes the guest can still take, from the last counts it sent us.
    var peerCredit: UInt32 {
        let inFlight = sentToPeer &- peerForwardCount
        return inFlight >= peerBufferAllocation ? 0 : peerBufferAllocation - inFlight
    }

    /// Room left in our receive buffer for this connection.
    var freeBuffer: Int { Int(Self.bufferAllocation) - pendingToHost.count }

    /// Takes the credit fields of any packet from the guest.
    func updatePeerCredit(bufferAllocation: UInt32, forwardCount: UInt32) {
        peerBufferAllocation = bufferAllocation
        peerForwardCount = forwardCount
    }

    /// Whether host data may go to the guest now: connected, host not done, guest still
    /// receiving, guest has room.
    var canSendData: Bool {
        phase == .established && !hostEnded && guestShutdown & VsockShutdownFlag.receive == 0 && peerCredit > 0
    }

    var owesControlPacket: Bool { owesRequest || owesResponse || owesCreditUpdate || owesShutdown != 0 }

    func noteForwarded(_ count: Int) {
        forwardedToHost &+= UInt32(truncatingIfNeeded: count)
        if forwardedToHost &- advertisedForwardCount >= Self.creditUpdateThreshold { owesCreditUpdate = true }
    }

    /// Every packet we send carries our counts, so it also serves as a credit update.
    func noteAdvertised() {
        advertisedForwardCount = forwardedToHost
        owesCreditUpdate = false
    }

    /// Stops watching and closes the host socket; the connection is unusable afterwards.
    func close() {
        guard !closed else { return }
        closed = true
        readWatch?.cancel()
        writeWatch?.cancel()
        readWatch = nil
        writeWatch = nil
        Glibc.close(socket)
    }
}
