/// Guest to host: packets on the transmit queue.
extension VirtioVsock {
    /// Handles every posted packet, at most a queue's worth per call (the core calls again
    /// when more arrived meanwhile). Each chain goes back to the guest whatever it held: a
    /// bad packet costs that packet, or the connection it names, never the queue.
    func drainTransmitQueue(_ queue: Virtqueue, runtime: inout VsockRuntime) throws {
        for _ in 0..<Int(queue.size) {
            guard let chain = try queue.popChain() else { return }
            try handleTransmit(chain, runtime: &runtime)
            try queue.addUsed(head: chain.head, length: 0)
        }
    }

    private func handleTransmit(_ chain: DescriptorChain, runtime: inout VsockRuntime) throws {
        runtime.counters.packetsFromGuest += 1
        let readable = chain.readable
        let total = readable.reduce(0) { $0 + Int($1.length) }
        // Copy at most one header and the largest payload; anything beyond is not a packet we take.
        let copied = try gather(chain, buffers: readable, limit: min(total, runtime.staging.count), into: &runtime.staging)
        guard copied >= VsockPacketHeader.size, let header = VsockPacketHeader(decoding: Array(runtime.staging[0..<VsockPacketHeader.size])) else {
            runtime.counters.malformedPackets += 1
            return
        }
        // A packet claiming another source is not this guest's to send: no reply at all.
        guard header.sourceCID == guestCID else {
            runtime.counters.malformedPackets += 1
            return
        }
        let existing = runtime.connection(localPort: header.destinationPort, peerPort: header.sourcePort)
        let payloadLength = Int(header.length)
        guard header.type == VsockPacketHeader.typeStream, payloadLength <= Self.maxPayload, payloadLength <= total - VsockPacketHeader.size,
            let operation = header.knownOperation
        else {
            runtime.counters.malformedPackets += 1
            refuse(header, connection: existing, runtime: &runtime)
            return
        }
        guard header.destinationCID == Self.hostCID else {
            refuse(header, connection: existing, runtime: &runtime)
            return
        }
        if operation == .request {
            openGuestConnection(header, existing: existing, runtime: &runtime)
            return
        }
        guard let connection = existing else {
            if operation != .reset { refuse(header, connection: nil, runtime: &runtime) }
            return
        }
        connection.updatePeerCredit(bufferAllocation: header.bufferAllocation, forwardCount: header.forwardCount)
        switch operation {
        case .request: break
        case .response: accept(connection, header: header, runtime: &runtime)
        case .reset: connection.close()
        case .shutdown:
            connection.guestShutdown |= header.flags & VsockShutdownFlag.both
            applyGuestShutdown(connection, runtime: &runtime)
        case .readWrite:
            // Only established streams carry data, and never more than the credit we gave.
            guard connection.phase == .established, payloadLength <= connection.freeBuffer else {
                runtime.counters.malformedPackets += 1
                abort(connection, runtime: &runtime)
                return
            }
            connection.pendingToHost.append(contentsOf: runtime.staging[VsockPacketHeader.size..<VsockPacketHeader.size + payloadLength])
            runtime.counters.bytesFromGuest += payloadLength
            if connection.writable.isSet { flushToHost(connection, runtime: &runtime) }
        case .creditUpdate: break
        case .creditRequest: connection.owesCreditUpdate = true
        }
    }

    /// Answers a packet we cannot take with RST (never an RST with an RST), and ends the
    /// connection it belongs to, if any.
    private func refuse(_ header: VsockPacketHeader, connection: VsockConnection?, runtime: inout VsockRuntime) {
        if let connection {
            abort(connection, runtime: &runtime)
            return
        }
        guard header.knownOperation != .reset else { return }
        enqueueReset(sourceCID: header.destinationCID, sourcePort: header.destinationPort, destinationPort: header.sourcePort, runtime: &runtime)
    }

    /// A guest connects to host port P: relay it to whoever listens at `<udsPath>_P`.
    private func openGuestConnection(_ header: VsockPacketHeader, existing: VsockConnection?, runtime: inout VsockRuntime) {
        if let existing {
            // A second REQUEST for a live stream: the guest and we disagree, so end it.
            abort(existing, runtime: &runtime)
            return
        }
        guard runtime.openCount < Self.maxConnections, let socket = VsockHostSocket.connect(to: "\(udsPath)_\(header.destinationPort)") else {
            runtime.counters.refusedConnections += 1
            refuse(header, connection: nil, runtime: &runtime)
            return
        }
        let connection = VsockConnection(localPort: header.destinationPort, peerPort: header.sourcePort, socket: socket, phase: .established)
        connection.updatePeerCredit(bufferAllocation: header.bufferAllocation, forwardCount: header.forwardCount)
        connection.owesResponse = true
        startReading(connection, runtime: runtime)
        runtime.connections.append(connection)
    }

    /// The guest accepted a host program's CONNECT: tell the program, then relay.
    private func accept(_ connection: VsockConnection, header: VsockPacketHeader, runtime: inout VsockRuntime) {
        guard connection.phase == .awaitingGuestResponse, !connection.owesRequest else {
            runtime.counters.malformedPackets += 1
            abort(connection, runtime: &runtime)
            return
        }
        let line = Array("OK \(connection.localPort)\n".utf8)
        // The first bytes on a fresh socket: they fit, unless the program is gone.
        guard line.withUnsafeBytes({ VsockHostSocket.send(connection.socket, $0) }) == .transferred(line.count) else {
            abort(connection, runtime: &runtime)
            return
        }
        connection.phase = .established
        startReading(connection, runtime: runtime)
    }

    /// Copies the first `limit` bytes of `buffers` into `staging`; returns how many.
    private func gather(_ chain: DescriptorChain, buffers: [GuestBuffer], limit: Int, into staging: inout [UInt8]) throws -> Int {
        var offset = 0
        try staging.withUnsafeMutableBytes { destination in
            for buffer in buffers where offset < limit {
                let source = try chain.contents(of: buffer)
                let count = min(source.count, limit - offset)
                UnsafeMutableRawBufferPointer(rebasing: destination[offset..<offset + count]).copyMemory(from: UnsafeRawBufferPointer(rebasing: source[0..<count]))
                offset += count
            }
        }
        return offset
    }
}
