#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The host side: accepting programs on the Unix socket, their CONNECT lines, writing guest
/// bytes out, and ending connections.
extension VirtioVsock {
    private enum HandshakeProgress {
        case waiting
        case failed
        case connect(port: UInt32)
    }

    /// Host work that any pass does first, whichever queue it is for: new programs, CONNECT
    /// lines, and guest bytes a host socket can take now.
    func serviceHost(_ runtime: inout VsockRuntime) {
        acceptConnections(&runtime)
        advanceHandshakes(&runtime)
        for connection in runtime.connections where !connection.closed && connection.writable.isSet {
            flushToHost(connection, runtime: &runtime)
        }
    }

    private func acceptConnections(_ runtime: inout VsockRuntime) {
        guard runtime.listenerReadable.isSet else { return }
        // A bounded batch, so a host flooding the socket cannot hold the queue; the rest next pass.
        for _ in 0..<2 * Self.maxConnections {
            guard let socket = VsockHostSocket.accept(from: listener) else {
                runtime.listenerReadable.clear()
                runtime.listenerWatch?.arm()
                return
            }
            guard runtime.openCount < Self.maxConnections else {
                close(socket)
                runtime.counters.refusedConnections += 1
                continue
            }
            let handshake = VsockHandshake(socket: socket)
            handshake.watch = watch(socket, flag: handshake.readable, runtime: runtime)
            runtime.handshakes.append(handshake)
        }
        runtime.trigger?.requestProcessing(queue: Self.receiveQueue)
    }

    private func advanceHandshakes(_ runtime: inout VsockRuntime) {
        var stillWaiting: [VsockHandshake] = []
        for handshake in runtime.handshakes {
            guard handshake.readable.isSet else {
                stillWaiting.append(handshake)
                continue
            }
            switch readLine(handshake) {
            case .waiting: stillWaiting.append(handshake)
            case .failed:
                handshake.close()
                runtime.counters.refusedConnections += 1
            case .connect(let port):
                handshake.watch?.cancel()
                let connection = VsockConnection(
                    localPort: allocateLocalPort(runtime: &runtime), peerPort: port, socket: handshake.socket, phase: .awaitingGuestResponse)
                connection.owesRequest = true
                runtime.connections.append(connection)
            }
        }
        runtime.handshakes = stillWaiting
    }

    /// Reads the CONNECT line a byte at a time, so no byte of the stream after it is taken
    /// before the guest has accepted.
    private func readLine(_ handshake: VsockHandshake) -> HandshakeProgress {
        var byte: UInt8 = 0
        while handshake.line.count < VsockHandshake.maxLineBytes {
            switch withUnsafeMutableBytes(of: &byte, { VsockHostSocket.receive(handshake.socket, into: $0) }) {
            case .transferred:
                guard byte != UInt8(ascii: "\n") else { return VsockHandshake.port(fromLine: handshake.line).map { .connect(port: $0) } ?? .failed }
                handshake.line.append(byte)
            case .wouldBlock:
                handshake.readable.clear()
                handshake.watch?.arm()
                return .waiting
            case .endOfStream, .failed:
                return .failed
            }
        }
        return .failed
    }

    /// The next host port no open connection uses (at most `maxConnections` are taken).
    private func allocateLocalPort(runtime: inout VsockRuntime) -> UInt32 {
        while true {
            let port = runtime.nextEphemeralPort
            runtime.nextEphemeralPort = port == UInt32.max ? Self.firstEphemeralPort : port + 1
            if !runtime.connections.contains(where: { !$0.closed && $0.localPort == port }) { return port }
        }
    }

    /// A watch that raises `flag` and asks for a receive pass, which services the host first.
    func watch(_ socket: Int32, flag: VsockReadinessFlag, direction: ReadinessWatch.Direction = .readable, runtime: VsockRuntime)
        -> ReadinessWatch?
    {
        let trigger = runtime.trigger
        return trigger?.watch(socket, direction: direction) {
            flag.set()
            trigger?.requestProcessing(queue: Self.receiveQueue)
        }
    }

    /// Starts relaying host bytes of an established connection toward the guest.
    func startReading(_ connection: VsockConnection, runtime: VsockRuntime) {
        connection.readable.set()
        connection.readWatch = watch(connection.socket, flag: connection.readable, runtime: runtime)
    }

    /// Writes what the guest sent as far as the host socket takes it; waits for room otherwise.
    func flushToHost(_ connection: VsockConnection, runtime: inout VsockRuntime) {
        while !connection.pendingToHost.isEmpty {
            switch connection.pendingToHost.withUnsafeBytes({ VsockHostSocket.send(connection.socket, $0) }) {
            case .transferred(let count):
                connection.pendingToHost.removeFirst(count)
                connection.noteForwarded(count)
            case .wouldBlock:
                connection.writable.clear()
                if let writeWatch = connection.writeWatch {
                    writeWatch.arm()
                } else {
                    connection.writeWatch = watch(connection.socket, flag: connection.writable, direction: .writable, runtime: runtime)
                }
                return
            case .endOfStream, .failed:
                abort(connection, runtime: &runtime)
                return
            }
        }
        applyGuestShutdown(connection, runtime: &runtime)
    }

    /// Once everything the guest sent is out: its SHUTDOWN(send) half-closes the host socket,
    /// and a full SHUTDOWN ends the connection with the RST the guest waits for.
    func applyGuestShutdown(_ connection: VsockConnection, runtime: inout VsockRuntime) {
        guard connection.pendingToHost.isEmpty, !connection.closed else { return }
        if connection.guestShutdown == VsockShutdownFlag.both {
            abort(connection, runtime: &runtime)
        } else if connection.guestShutdown & VsockShutdownFlag.send != 0, !connection.hostWriteClosed {
            shutdown(connection.socket, Int32(SHUT_WR))
            connection.hostWriteClosed = true
        }
    }

    /// Closes the host side and tells the guest with RST, unless it never heard of the stream.
    func abort(_ connection: VsockConnection, runtime: inout VsockRuntime) {
        guard !connection.closed else { return }
        connection.close()
        guard !connection.owesRequest else { return }
        enqueueReset(sourceCID: Self.hostCID, sourcePort: connection.localPort, destinationPort: connection.peerPort, runtime: &runtime)
    }

    /// Queues an RST to the guest's `destinationPort`; dropped (the guest times out) when
    /// too many are already waiting for receive buffers.
    func enqueueReset(sourceCID: UInt64, sourcePort: UInt32, destinationPort: UInt32, runtime: inout VsockRuntime) {
        guard runtime.pendingResets.count < Self.maxPendingResets else {
            runtime.counters.droppedResets += 1
            return
        }
        runtime.pendingResets.append(
            VsockPacketHeader(
                sourceCID: sourceCID, destinationCID: guestCID, sourcePort: sourcePort, destinationPort: destinationPort, operation: .reset,
                bufferAllocation: VsockConnection.bufferAllocation))
    }
}
