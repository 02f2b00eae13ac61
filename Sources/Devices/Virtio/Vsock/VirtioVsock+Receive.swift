/// Device to guest: control packets and host bytes into the guest's receive buffers.
extension VirtioVsock {
    private enum Fill {
        case filled(length: Int)
        case nothingToSend
        case unusableChain
    }

    /// Fills posted buffers while there is something to send, at most a queue's worth per
    /// call (then asks to be called again). With no buffers posted, host bytes stay in the
    /// host sockets; the guest's next notification on this queue brings us back.
    func fillReceiveQueue(_ queue: Virtqueue, runtime: inout VsockRuntime) throws {
        for _ in 0..<Int(queue.size) {
            guard let chain = try queue.popChain() else { return }
            switch try fill(chain, runtime: &runtime) {
            case .filled(let length):
                try queue.addUsed(head: chain.head, length: UInt32(length))
                runtime.counters.packetsToGuest += 1
            case .unusableChain:
                try queue.addUsed(head: chain.head, length: 0)
                runtime.counters.unusableReceiveChains += 1
            case .nothingToSend:
                queue.unpop(1)
                return
            }
        }
        runtime.trigger?.requestProcessing(queue: Self.receiveQueue)
    }

    private func fill(_ chain: DescriptorChain, runtime: inout VsockRuntime) throws -> Fill {
        let room = chain.writable.reduce(0) { $0 + Int($1.length) }
        guard chain.readable.isEmpty, room >= VsockPacketHeader.size else { return .unusableChain }
        if !runtime.pendingResets.isEmpty {
            let header = runtime.pendingResets.removeFirst()
            return .filled(length: try deliver(header, payloadLength: 0, into: chain, runtime: &runtime))
        }
        let count = runtime.connections.count
        for step in 0..<count {
            let index = (runtime.rotation + step) % count
            let connection = runtime.connections[index]
            guard !connection.closed, let header = nextPacket(for: connection, payloadRoom: room - VsockPacketHeader.size, runtime: &runtime) else { continue }
            runtime.rotation = index + 1
            return .filled(length: try deliver(header, payloadLength: Int(header.length), into: chain, runtime: &runtime))
        }
        // A read above may have ended a connection with an RST to send.
        if let header = runtime.pendingResets.first {
            runtime.pendingResets.removeFirst()
            return .filled(length: try deliver(header, payloadLength: 0, into: chain, runtime: &runtime))
        }
        return .nothingToSend
    }

    /// What `connection` has for the guest now, payload already in `staging` after the
    /// header's place; nil for nothing. Control packets first, then data within the guest's
    /// credit, then a SHUTDOWN that must follow the last data, then a bare credit update.
    private func nextPacket(for connection: VsockConnection, payloadRoom: Int, runtime: inout VsockRuntime) -> VsockPacketHeader? {
        var header = VsockPacketHeader(
            sourceCID: Self.hostCID, destinationCID: guestCID, sourcePort: connection.localPort, destinationPort: connection.peerPort,
            operation: .readWrite, bufferAllocation: VsockConnection.bufferAllocation, forwardCount: connection.forwardedToHost)
        if connection.owesRequest {
            connection.owesRequest = false
            header.operation = VsockOperation.request.rawValue
        } else if connection.owesResponse {
            connection.owesResponse = false
            header.operation = VsockOperation.response.rawValue
        } else if let length = readFromHost(connection, limit: min(payloadRoom, Int(connection.peerCredit), Self.maxPayload), runtime: &runtime) {
            header.length = UInt32(length)
            connection.sentToPeer &+= UInt32(length)
            runtime.counters.bytesToGuest += length
        } else if connection.closed {
            return nil
        } else if connection.owesShutdown != 0 {
            header.operation = VsockOperation.shutdown.rawValue
            header.flags = connection.owesShutdown
            connection.owesShutdown = 0
        } else if connection.owesCreditUpdate {
            header.operation = VsockOperation.creditUpdate.rawValue
        } else {
            return nil
        }
        connection.noteAdvertised()
        return header
    }

    /// Reads up to `limit` host bytes into `staging` after the header; nil when there is
    /// nothing to send (no credit, no room, nothing waiting, or the host side ended).
    private func readFromHost(_ connection: VsockConnection, limit: Int, runtime: inout VsockRuntime) -> Int? {
        guard connection.canSendData, connection.readable.isSet, limit > 0 else { return nil }
        let start = VsockPacketHeader.size
        let result = runtime.staging.withUnsafeMutableBytes { VsockHostSocket.receive(connection.socket, into: UnsafeMutableRawBufferPointer(rebasing: $0[start..<start + limit])) }
        switch result {
        case .transferred(let count): return count
        case .wouldBlock:
            connection.readable.clear()
            connection.readWatch?.arm()
        case .endOfStream:
            // The host will send no more; the guest hears it after the data already sent.
            connection.hostEnded = true
            connection.owesShutdown |= VsockShutdownFlag.send
            connection.readWatch?.cancel()
            connection.readWatch = nil
        case .failed:
            abort(connection, runtime: &runtime)
        }
        return nil
    }

    /// Writes `header` and the `payloadLength` bytes after it in `staging` across the chain's
    /// writable buffers (`fill` checked they hold at least a header and the payload was sized
    /// to fit); returns the bytes written.
    private func deliver(_ header: VsockPacketHeader, payloadLength: Int, into chain: DescriptorChain, runtime: inout VsockRuntime) throws -> Int {
        header.store(into: &runtime.staging)
        let length = VsockPacketHeader.size + payloadLength
        var written = 0
        try runtime.staging.withUnsafeBytes { packet in
            for buffer in chain.writable where written < length {
                let destination = try chain.writableContents(of: buffer)
                let count = min(destination.count, length - written)
                destination.copyMemory(from: UnsafeRawBufferPointer(rebasing: packet[written..<written + count]))
                written += count
            }
        }
        return written
    }
}
