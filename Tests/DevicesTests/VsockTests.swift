#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Synchronization
import Testing
import GuestMemory
import SwiftletCore
@testable import Devices

@Suite struct VsockDeviceTests {
    @Test func reportsTheGuestCIDOnBothTransports() throws {
        for mmio in [false, true] {
            let harness = try VsockHarness(mmio: mmio)
            #expect(harness.configuredCID == VsockHarness.guestCID)
            #expect(harness.device.deviceType == 19)
            #expect(harness.device.queueMaxSizes.count == 3)
        }
    }

    @Test func refusesReservedCIDsAndAnExistingSocketPath() throws {
        let directory = try SocketDirectory()
        for cid: UInt64 in [0, 1, 2, 0xFFFF_FFFF, 1 << 40] {
            #expect {
                try VirtioVsock(guestCID: cid, udsPath: directory.udsPath)
            } throws: { error in
                guard case VirtioVsockError.invalidGuestCID(let violation) = error else { return false }
                return "\(violation)".contains("got \(cid)")
            }
        }
        let taken = directory.path + "/taken"
        #expect(FileManagerShim.create(taken))
        #expect(throws: VirtioVsockError.socketPathExists(taken)) { try VirtioVsock(guestCID: 3, udsPath: taken) }
        let live = directory.path + "/live"
        let listener = try HostListener(path: live)
        #expect(throws: VirtioVsockError.socketPathExists(live)) { try VirtioVsock(guestCID: 3, udsPath: live) }
        // A socket whose listener is gone (a VMM that exited) is replaced.
        let stale = directory.path + "/stale"
        _ = try HostListener(path: stale)
        #expect(try VirtioVsock(guestCID: 3, udsPath: stale).udsPath == stale)
        _ = listener
        let tooLong = directory.path + "/" + String(repeating: "x", count: 120)
        #expect(throws: VirtioVsockError.invalidSocketPath(tooLong)) { try VirtioVsock(guestCID: 3, udsPath: tooLong) }
        #expect(throws: VirtioVsockError.self) { try VirtioVsock(guestCID: 3, udsPath: "/nonexistent-dir/v.sock") }
    }

    @Test func removesItsSocketWhenReleased() throws {
        let directory = try SocketDirectory()
        do {
            let device = try VirtioVsock(guestCID: 3, udsPath: directory.udsPath)
            #expect(access(device.udsPath, F_OK) == 0)
        }
        #expect(access(directory.udsPath, F_OK) != 0)
    }

    @Test func hostConnectsWithConnectAndRelaysBothWays() throws {
        for mmio in [false, true] {
            let harness = try VsockHarness(mmio: mmio)
            try harness.start()
            let (stream, hostPort) = try harness.connectFromHost(guestPort: 52)
            #expect(hostPort >= VirtioVsock.firstEphemeralPort)

            // Host to guest.
            let fromHost = VsockHarness.pattern(1000, seed: 1)
            stream.send(fromHost)
            try harness.postReceiveBuffers(1)
            #expect(harness.waitForReceived(2))
            let packet = try harness.receivedPacket(1)
            #expect(packet.header.knownOperation == .readWrite)
            #expect(packet.header.sourcePort == hostPort && packet.header.destinationPort == 52)
            #expect(packet.header.bufferAllocation == VsockConnection.bufferAllocation)
            #expect(packet.payload == fromHost)

            // Guest to host.
            let fromGuest = VsockHarness.pattern(3000, seed: 2)
            try harness.send(harness.guestPacket(.readWrite, guestPort: 52, hostPort: hostPort, payloadLength: fromGuest.count), payload: fromGuest)
            #expect(stream.receive(exactly: fromGuest.count) == fromGuest)
            #expect(harness.errors.isEmpty)
        }
    }

    @Test func refusesAMalformedConnectLine() throws {
        let harness = try VsockHarness()
        try harness.start()
        let stream = try HostStream(connectingTo: harness.directory.udsPath)
        stream.send("CONNECT fifty-two\n")
        try harness.postReceiveBuffers(1)
        #expect(stream.sawEndOfStream)
        #expect(harness.receive.usedIndex(in: harness.memory) == 0)
        #expect(harness.device.counters.refusedConnections == 1)
    }

    @Test func guestConnectsToAListeningHostSocket() throws {
        let harness = try VsockHarness()
        try harness.start()
        let listener = try HostListener(path: harness.directory.udsPath + "_1234")
        let stream = try #require(try harness.connectFromGuest(guestPort: 2000, hostPort: 1234, listener: listener))

        let fromGuest = VsockHarness.pattern(500, seed: 3)
        try harness.send(harness.guestPacket(.readWrite, guestPort: 2000, hostPort: 1234, payloadLength: fromGuest.count), payload: fromGuest)
        #expect(stream.receive(exactly: fromGuest.count) == fromGuest)

        let fromHost = VsockHarness.pattern(700, seed: 4)
        stream.send(fromHost)
        try harness.postReceiveBuffers(1)
        #expect(harness.waitForReceived(2))
        let packet = try harness.receivedPacket(1)
        #expect(packet.header.knownOperation == .readWrite && packet.header.sourcePort == 1234 && packet.header.destinationPort == 2000)
        #expect(packet.payload == fromHost)
    }

    @Test func resetsAConnectionToAPortNobodyListensOn() throws {
        let harness = try VsockHarness()
        try harness.start()
        try harness.send(harness.guestPacket(.request, guestPort: 3000, hostPort: 9999))
        try harness.postReceiveBuffers(1)
        #expect(harness.waitForReceived(1))
        let reset = try harness.receivedPacket(0).header
        #expect(reset.knownOperation == .reset)
        #expect(reset.sourcePort == 9999 && reset.destinationPort == 3000 && reset.destinationCID == VsockHarness.guestCID)
        #expect(harness.device.openConnectionCount == 0)
        #expect(harness.device.counters.refusedConnections == 1)
    }

    @Test func stopsAtTheGuestsCreditAndResumesOnCreditUpdate() throws {
        let harness = try VsockHarness()
        try harness.start()
        harness.guestBufferAllocation = 1000
        let (stream, hostPort) = try harness.connectFromHost(guestPort: 52)
        let fromHost = VsockHarness.pattern(2500, seed: 5)
        stream.send(fromHost)
        try harness.postReceiveBuffers(4)
        #expect(harness.waitForReceived(2))
        let first = try harness.receivedPacket(1)
        #expect(first.payload == Array(fromHost[0..<1000]))
        // Credit used up: the rest stays in the host socket although buffers are posted.
        usleep(100_000)
        harness.drain()
        #expect(harness.receive.usedIndex(in: harness.memory) == 2)

        // The guest consumed 1000 bytes and says so: exactly 1000 more may come.
        harness.guestForwardCount = 1000
        try harness.send(harness.guestPacket(.creditUpdate, guestPort: 52, hostPort: hostPort))
        #expect(harness.waitForReceived(3))
        #expect(try harness.receivedPacket(2).payload == Array(fromHost[1000..<2000]))
        usleep(100_000)
        harness.drain()
        #expect(harness.receive.usedIndex(in: harness.memory) == 3)
        #expect(harness.device.counters.bytesToGuest == 2000)
    }

    @Test func aGuestThatExceedsOurCreditLosesTheConnection() throws {
        let harness = try VsockHarness()
        try harness.start()
        let listener = try HostListener(path: harness.directory.udsPath + "_77")
        // The host program accepts but never reads: bytes pile up toward our buffer allocation.
        let stream = try #require(try harness.connectFromGuest(guestPort: 5, hostPort: 77, listener: listener))
        let chunk = VsockHarness.pattern(VirtioVsock.maxPayload, seed: 6)
        var sent = 0
        while harness.device.openConnectionCount == 1 && sent < 64 {
            try harness.send(harness.guestPacket(.readWrite, guestPort: 5, hostPort: 77, payloadLength: chunk.count), payload: chunk)
            sent += 1
        }
        #expect(harness.device.openConnectionCount == 0)
        // Never more than the socket's kernel buffer plus our 256 KiB before the cut.
        #expect(sent * chunk.count <= 4 << 20)
        #expect(harness.device.counters.malformedPackets == 1)
        try harness.postReceiveBuffers(1)
        #expect(harness.waitForReceived(2))
        #expect(try harness.receivedPacket(1).header.knownOperation == .reset)
        #expect(stream.receive(upTo: 1).count == 1)
    }

    @Test func aFullShutdownFromTheGuestEndsWithReset() throws {
        let harness = try VsockHarness()
        try harness.start()
        let (stream, hostPort) = try harness.connectFromHost(guestPort: 52)
        let fromGuest = VsockHarness.pattern(100, seed: 7)
        try harness.send(harness.guestPacket(.readWrite, guestPort: 52, hostPort: hostPort, payloadLength: fromGuest.count), payload: fromGuest)
        try harness.send(harness.guestPacket(.shutdown, guestPort: 52, hostPort: hostPort, flags: VsockShutdownFlag.both))
        // The data arrives before the close.
        #expect(stream.receive(exactly: 100) == fromGuest)
        #expect(stream.sawEndOfStream)
        try harness.postReceiveBuffers(1)
        #expect(harness.waitForReceived(2))
        #expect(try harness.receivedPacket(1).header.knownOperation == .reset)
        #expect(harness.device.openConnectionCount == 0)
    }

    @Test func theHostClosingItsSideIsAShutdownToTheGuest() throws {
        let harness = try VsockHarness()
        try harness.start()
        let (stream, hostPort) = try harness.connectFromHost(guestPort: 52)
        stream.send("bye")
        shutdown(stream.descriptor, Int32(SHUT_WR))
        try harness.postReceiveBuffers(2)
        #expect(harness.waitForReceived(3))
        #expect(try harness.receivedPacket(1).payload == Array("bye".utf8))
        let shutdown = try harness.receivedPacket(2).header
        #expect(shutdown.knownOperation == .shutdown && shutdown.flags == VsockShutdownFlag.send)
        // Half closed: the guest can still answer.
        try harness.send(harness.guestPacket(.readWrite, guestPort: 52, hostPort: hostPort, payloadLength: 2), payload: Array("ok".utf8))
        #expect(stream.receive(exactly: 2) == Array("ok".utf8))
    }

    // MARK: - Hostile packets

    @Test func aShortHeaderIsDroppedAndTheDeviceCarriesOn() throws {
        let harness = try VsockHarness()
        try harness.start()
        let header = harness.guestPacket(.request, guestPort: 1, hostPort: 2)
        try harness.send(header, headerBytes: Array(header.bytes[0..<20]))
        #expect(harness.transmit.usedIndex(in: harness.memory) == 1)
        #expect(harness.device.counters.malformedPackets == 1)
        #expect(harness.status & VirtioDeviceStatus.deviceNeedsReset == 0)
        // Still works.
        _ = try harness.connectFromHost(guestPort: 52)
        #expect(harness.errors.isEmpty)
    }

    @Test func aLengthBeyondTheBufferResetsTheConnection() throws {
        let harness = try VsockHarness()
        try harness.start()
        let (stream, hostPort) = try harness.connectFromHost(guestPort: 52)
        // Claims 1000 payload bytes, carries 10.
        try harness.send(harness.guestPacket(.readWrite, guestPort: 52, hostPort: hostPort, payloadLength: 1000), payload: [UInt8](repeating: 0xAA, count: 10))
        #expect(harness.device.counters.malformedPackets == 1)
        #expect(harness.device.openConnectionCount == 0)
        #expect(stream.sawEndOfStream)
        try harness.postReceiveBuffers(1)
        #expect(harness.waitForReceived(2))
        let reset = try harness.receivedPacket(1).header
        #expect(reset.knownOperation == .reset && reset.sourcePort == hostPort && reset.destinationPort == 52)
        #expect(harness.status & VirtioDeviceStatus.deviceNeedsReset == 0)
    }

    @Test func hostilePacketsCostOnlyThemselves() throws {
        let harness = try VsockHarness()
        try harness.start()
        var spoofed = harness.guestPacket(.request, guestPort: 1, hostPort: 2)
        spoofed.sourceCID = 7
        var otherType = harness.guestPacket(.request, guestPort: 1, hostPort: 2)
        otherType.type = 2
        var unknownOperation = harness.guestPacket(.request, guestPort: 1, hostPort: 2)
        unknownOperation.operation = 99
        var huge = harness.guestPacket(.readWrite, guestPort: 1, hostPort: 2)
        huge.length = UInt32.max
        for header in [spoofed, otherType, unknownOperation, huge] { try harness.send(header) }
        // Data for a connection that does not exist gets RST; the spoofed one gets nothing.
        try harness.send(harness.guestPacket(.readWrite, guestPort: 8, hostPort: 9, payloadLength: 4), payload: [1, 2, 3, 4])
        #expect(harness.transmit.usedIndex(in: harness.memory) == 5)
        try harness.postReceiveBuffers(8)
        #expect(harness.waitForReceived(4))
        for position in 0..<4 { #expect(try harness.receivedPacket(UInt16(position)).header.knownOperation == .reset) }
        #expect(harness.status & VirtioDeviceStatus.deviceNeedsReset == 0)
        #expect(harness.errors.isEmpty)
    }

    @Test func aReceiveBufferTooSmallForAHeaderIsReturnedEmpty() throws {
        let harness = try VsockHarness()
        try harness.start()
        try harness.send(harness.guestPacket(.request, guestPort: 3000, hostPort: 9999))
        try harness.postReceiveBuffers(1, length: 16)
        #expect(harness.waitForReceived(1))
        #expect(try harness.receive.usedElement(0, in: harness.memory).length == 0)
        try harness.postReceiveBuffers(1)
        #expect(harness.waitForReceived(2))
        #expect(try harness.receivedPacket(1).header.knownOperation == .reset)
    }

    // MARK: - Snapshot

    @Test func aRestoredDeviceTellsTheGuestItsTransportWasReset() throws {
        let directory = try SocketDirectory()
        var state: VirtioVsock.State
        do {
            let original = try VsockHarness(directory: directory)
            try original.start()
            try original.postEventBuffer()
            // A device that was not restored has nothing to say on the event queue.
            #expect(original.events.usedIndex(in: original.memory) == 0)
            state = original.device.saveState()
        }
        #expect(state == VirtioVsock.State(guestCID: VsockHarness.guestCID, udsPath: directory.udsPath))
        let restored = try VsockHarness(directory: directory, restoring: state)
        try restored.start()
        try restored.postEventBuffer()
        #expect(restored.events.usedIndex(in: restored.memory) == 1)
        #expect(try restored.events.usedElement(0, in: restored.memory) == (0, 4))
        #expect(try restored.memory.read(UInt32.self, at: GuestAddress(VsockHarness.eventBufferAddress)) == 0)
        // Once only.
        try restored.postEventBuffer()
        #expect(restored.events.usedIndex(in: restored.memory) == 1)
        // And it listens again at the saved path.
        _ = try restored.connectFromHost(guestPort: 52)
    }
}

/// Creates a plain file, for "the path already exists".
enum FileManagerShim {
    static func create(_ path: String) -> Bool {
        let descriptor = open(path, O_CREAT | O_WRONLY, 0o600)
        guard descriptor >= 0 else { return false }
        close(descriptor)
        return true
    }
}

@Suite struct VsockStreamTests {
    /// A host program streams 4 MiB to a guest echo service and reads the echo back at once,
    /// so both directions run together and the host socket fills up in both: the device must
    /// wait for room (write watch), keep to the guest's credit, and lose or reorder nothing.
    @Test func fourMebibytesEchoThroughTheGuestUnchanged() throws {
        let harness = try VsockHarness()
        try harness.start()
        let (stream, hostPort) = try harness.connectFromHost(guestPort: 52)
        let total = 4 << 20
        let data = VsockHarness.pattern(total, seed: 9)
        // As long as the whole exchange may take, for a loaded machine.
        var timeout = timeval(tv_sec: 60, tv_usec: 0)
        setsockopt(stream.descriptor, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(stream.descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        // A short send shows up below as bytes the guest never got.
        let writer = Thread { stream.send(data) }
        writer.start()
        let echoed = ReceivedBytes()
        let reader = Thread {
            let bytes = stream.receive(exactly: total)
            echoed.bytes.withLock { $0 = bytes }
        }
        reader.start()

        var consumed = 0
        var position = harness.receive.usedIndex(in: harness.memory)
        let deadline = ContinuousClock.now + .seconds(60)
        // One receive buffer outstanding at a time, posted again only once the device used it:
        // posting one on every wait that timed out (a loaded machine) overran the ring, and the
        // device rightly broke the queue ("invalid avail ring: idx 128 is 17 ahead of 111").
        var bufferPosted = false
        // The echo keeps to the device's credit, as a driver must: when the host reads slowly
        // the device's buffer toward it fills, and a packet beyond its credit would rightly
        // reset the connection. Echoes without credit wait here for the device's next counts.
        var echoesWaiting: [[UInt8]] = []
        var echoedToDevice: UInt32 = 0
        var deviceForwardCount: UInt32 = 0
        var deviceBufferAllocation: UInt32 = 0
        while (consumed < total || !echoesWaiting.isEmpty) && ContinuousClock.now < deadline {
            if !bufferPosted {
                try harness.postReceiveBuffers(1)
                bufferPosted = true
            }
            guard harness.waitForReceived(position &+ 1) else { continue }
            bufferPosted = false
            let packet = try harness.receivedPacket(position)
            position &+= 1
            deviceForwardCount = packet.header.forwardCount
            deviceBufferAllocation = packet.header.bufferAllocation
            if packet.header.knownOperation == .readWrite {
                consumed += packet.payload.count
                // The guest application read it: the counts it reports in its next packet say so.
                harness.guestForwardCount &+= UInt32(packet.payload.count)
                echoesWaiting.append(packet.payload)
            }
            while let next = echoesWaiting.first, UInt32(next.count) <= deviceBufferAllocation &- (echoedToDevice &- deviceForwardCount) {
                echoesWaiting.removeFirst()
                echoedToDevice &+= UInt32(next.count)
                try harness.send(harness.guestPacket(.readWrite, guestPort: 52, hostPort: hostPort, payloadLength: next.count), payload: next)
            }
        }
        #expect(consumed == total && echoesWaiting.isEmpty, "consumed \(consumed) of \(total), \(echoesWaiting.count) echoes still waiting for credit")
        for _ in 0..<600 where echoed.bytes.withLock({ $0.count }) < total {
            harness.drain()
            usleep(50_000)
        }
        let back = echoed.bytes.withLock { $0 }
        // Not `#expect(back == data)`: on a mismatch Swift Testing diffs the two 4 MiB arrays
        // element by element, which ran for over 10 minutes in CI before it was stopped.
        let firstDifference = zip(back, data).enumerated().first { $0.element.0 != $0.element.1 }?.offset
        #expect(back.count == total && firstDifference == nil, "echoed \(back.count) of \(total) bytes; first wrong byte at \(firstDifference.map(String.init) ?? "none")")
        #expect(harness.errors.isEmpty)
        #expect(harness.status & VirtioDeviceStatus.deviceNeedsReset == 0)
    }
}

/// What a host reader thread collected.
final class ReceivedBytes: Sendable {
    let bytes = Mutex<[UInt8]>([])
}
