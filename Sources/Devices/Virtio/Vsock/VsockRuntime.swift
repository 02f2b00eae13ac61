/// Everything a vsock device changes while it runs: host sockets, connections, packets owed
/// to the guest. Only touched on the device's I/O queue (and by `connect`), under its lock.
struct VsockRuntime {
    var trigger: VirtioQueueTrigger?
    var listenerWatch: ReadinessWatch?
    let listenerReadable = VsockReadinessFlag(true)
    /// Host programs that connected and have not sent their CONNECT line yet.
    var handshakes: [VsockHandshake] = []
    var connections: [VsockConnection] = []
    /// Where the next receive pass starts looking, so one busy connection cannot starve the rest.
    var rotation = 0
    /// RST packets for streams that have no connection (any more); bounded.
    var pendingResets: [VsockPacketHeader] = []
    var nextEphemeralPort = VirtioVsock.firstEphemeralPort
    /// Set by a restore: the guest must be told its connections are gone.
    var transportResetPending = false
    /// One packet, header and payload, on its way between a chain and a host socket.
    var staging = [UInt8](repeating: 0, count: VsockPacketHeader.size + VirtioVsock.maxPayload)
    var counters = VirtioVsock.Counters()

    var openCount: Int { handshakes.count + connections.count }

    func connection(localPort: UInt32, peerPort: UInt32) -> VsockConnection? {
        connections.first { !$0.closed && $0.localPort == localPort && $0.peerPort == peerPort }
    }

    /// Whether a receive pass would have something to put in a guest buffer.
    var hasReceiveWork: Bool {
        !pendingResets.isEmpty || connections.contains { !$0.closed && ($0.owesControlPacket || ($0.canSendData && $0.readable.isSet)) }
    }
}
