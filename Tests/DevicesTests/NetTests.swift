import Foundation
import Testing
import GuestMemory
import SwiftletCore
@testable import Devices

@Suite struct NetDeviceTests {
    static let offloadFeatures =
        VirtioNet.Feature.checksum | VirtioNet.Feature.guestChecksum | VirtioNet.Feature.guestTSO4 | VirtioNet.Feature.guestTSO6
        | VirtioNet.Feature.hostTSO4 | VirtioNet.Feature.hostTSO6

    @Test func offersTheNetFeaturesAndReportsMACAndLinkUp() throws {
        let harness = try NetHarness()
        let offered = harness.pci.offeredFeatures()
        for bit in [0, 1, 5, 7, 8, 11, 12, 15, 16, 29, 32] { #expect(offered & (1 << UInt64(bit)) != 0, "feature bit \(bit)") }
        // Nothing Swiftlet does not implement: no control queue (17), no multiqueue (22).
        #expect(offered & (1 << 17 | 1 << 22) == 0)
        let config = (0..<8).map { UInt8(harness.pci.read(VirtioPCILayout.deviceConfiguration + UInt64($0), width: 1)) }
        #expect(Array(config[0..<6]) == NetHarness.mac.bytes)
        #expect(config[6] == 1 && config[7] == 0)
        #expect(harness.pci.transport.queueCount == 2)
    }

    @Test func transmitsAFrameGatheredFromSeveralBuffers() throws {
        let harness = try NetHarness()
        try harness.start(features: 0)
        let frame = NetHarness.frame(payloadLength: 1500, seed: 7)
        try harness.postTransmit([Array(frame[0..<12]), Array(frame[12..<100]), Array(frame[100...])])
        try harness.kick(1)
        #expect(harness.backend.nextTransmitted() == frame)
        #expect(harness.transmit.usedIndex(in: harness.memory) == 1)
        #expect(try harness.transmit.usedElement(0, in: harness.memory) == (0, 0))
        #expect(harness.pci.msi.messages.contains { $0.data == 0x22 })
        #expect(harness.net.counters.transmitted == 1)
    }

    @Test func deliversAHostFrameIntoAPostedBuffer() throws {
        let harness = try NetHarness()
        try harness.start(features: 0)
        try harness.postReceiveBuffers([2048])
        try harness.kick(0)
        let frame = NetHarness.frame(payloadLength: 600, seed: 3)
        harness.backend.inject(frame)
        #expect(harness.waitForReceived(1))
        #expect(try harness.receive.usedElement(0, in: harness.memory) == (0, UInt32(frame.count)))
        var expected = frame
        expected.storeLittleEndian(UInt16(1), at: 10)  // num_buffers is always 1 without MRG_RXBUF
        #expect(try harness.memory.readBytes(at: GuestAddress(NetHarness.receiveBufferAddress(0)), count: frame.count) == expected)
        #expect(harness.pci.msi.messages.contains { $0.data == 0x21 })
    }

    @Test func mergeableBuffersCarryALargeFrameAcrossSeveralChains() throws {
        let harness = try NetHarness()
        try harness.start(features: VirtioNet.Feature.mergeableReceiveBuffers)
        try harness.postReceiveBuffers([1024, 1024, 1024, 1024])
        try harness.kick(0)
        let frame = NetHarness.frame(payloadLength: 2500, seed: 9)
        harness.backend.inject(frame)
        #expect(harness.waitForReceived(3))
        #expect(try harness.receive.usedElement(0, in: harness.memory) == (0, 1024))
        #expect(try harness.receive.usedElement(1, in: harness.memory) == (1, 1024))
        #expect(try harness.receive.usedElement(2, in: harness.memory) == (2, UInt32(frame.count - 2048)))
        var gathered: [UInt8] = []
        for (slot, length) in [(UInt16(0), 1024), (1, 1024), (2, frame.count - 2048)] {
            gathered += try harness.memory.readBytes(at: GuestAddress(NetHarness.receiveBufferAddress(slot)), count: length)
        }
        #expect(gathered.loadLittleEndian(UInt16.self, at: 10) == 3)
        #expect(Array(gathered[12...]) == Array(frame[12...]))
        // The fourth buffer is still the driver's.
        #expect(harness.receive.usedIndex(in: harness.memory) == 3)
    }

    @Test func withoutBuffersFramesStayInTheHostAndArriveOnceBuffersArePosted() throws {
        let harness = try NetHarness()
        try harness.start(features: VirtioNet.Feature.mergeableReceiveBuffers)
        let first = NetHarness.frame(payloadLength: 300, seed: 1)
        let second = NetHarness.frame(payloadLength: 400, seed: 2)
        harness.backend.inject(first)
        harness.backend.inject(second)
        // Give the readiness watch time to fire: the device may take one frame, never both.
        Thread.sleep(forTimeInterval: 0.2)
        harness.pci.transport.drain()
        #expect(harness.receive.usedIndex(in: harness.memory) == 0)
        #expect(harness.backend.pendingTowardDevice == second.count)

        try harness.postReceiveBuffers([1024, 1024])
        try harness.kick(0)
        #expect(harness.waitForReceived(2))
        #expect(try harness.receive.usedElement(0, in: harness.memory) == (0, UInt32(first.count)))
        #expect(try harness.receive.usedElement(1, in: harness.memory) == (1, UInt32(second.count)))
        #expect(try harness.memory.readBytes(at: GuestAddress(NetHarness.receiveBufferAddress(1) + 12), count: 400) == Array(second[12...]))
        #expect(harness.backend.pendingTowardDevice == 0)
    }

    @Test func aFrameLargerThanAllPostedBuffersWaitsForMore() throws {
        let harness = try NetHarness()
        try harness.start(features: VirtioNet.Feature.mergeableReceiveBuffers)
        try harness.postReceiveBuffers([1024])
        try harness.kick(0)
        let frame = NetHarness.frame(payloadLength: 3000, seed: 4)
        harness.backend.inject(frame)
        Thread.sleep(forTimeInterval: 0.2)
        harness.pci.transport.drain()
        // The one buffer was taken back, not used half-filled.
        #expect(harness.receive.usedIndex(in: harness.memory) == 0)
        try harness.postReceiveBuffers([1024, 1024], firstSlot: 1)
        try harness.kick(0)
        #expect(harness.waitForReceived(3))
        #expect(try harness.receive.usedElement(2, in: harness.memory) == (2, UInt32(frame.count - 2048)))
    }

    @Test func withoutMergeableBuffersAFrameTooBigForTheChainIsDroppedAndTheChainKept() throws {
        let harness = try NetHarness()
        try harness.start(features: 0)
        try harness.postReceiveBuffers([256])
        try harness.kick(0)
        harness.backend.inject(NetHarness.frame(payloadLength: 1000, seed: 5))
        let small = NetHarness.frame(payloadLength: 100, seed: 6)
        harness.backend.inject(small)
        #expect(harness.waitForReceived(1))
        #expect(try harness.receive.usedElement(0, in: harness.memory) == (0, UInt32(small.count)))
        #expect(harness.net.counters.undeliverableFrames == 1)
    }

    @Test func hostileTransmitChainsCostOneFrameEach() throws {
        let harness = try NetHarness()
        try harness.start(features: 0)
        // A header shorter than 12 bytes.
        try harness.postTransmit([[1, 2, 3, 4]], firstSlot: 0)
        // A frame over the 64 KiB limit.
        try harness.postTransmit([[UInt8](repeating: 0xAB, count: VirtioNet.maxPacketSize + 1)], firstSlot: 1)
        try harness.kick(1)
        #expect(harness.backend.nextTransmitted() == nil)
        #expect(harness.transmit.usedIndex(in: harness.memory) == 2)
        #expect(harness.net.counters.malformedTransmits == 2)
        // The device carries on: a good frame still goes out, and nobody asked for a reset.
        let good = NetHarness.frame(payloadLength: 64, seed: 8)
        try harness.postTransmit([good], firstSlot: 2)
        try harness.kick(1)
        #expect(harness.backend.nextTransmitted() == good)
        #expect(harness.pci.status & VirtioDeviceStatus.deviceNeedsReset == 0)
        #expect(harness.pci.errors.isEmpty)
    }

    @Test func aReceiveChainWithReadableBuffersIsReturnedEmpty() throws {
        let harness = try NetHarness()
        try harness.start(features: VirtioNet.Feature.mergeableReceiveBuffers)
        // Slot 0 is device-readable: not a receive buffer.
        try harness.receive.descriptor(0, in: harness.memory, address: 0x40000, length: 2048)
        try harness.receive.publish(0, in: harness.memory)
        try harness.postReceiveBuffers([2048], firstSlot: 1)
        try harness.kick(0)
        harness.backend.inject(NetHarness.frame(payloadLength: 100, seed: 1))
        let second = NetHarness.frame(payloadLength: 200, seed: 2)
        harness.backend.inject(second)
        #expect(harness.waitForReceived(2))
        #expect(try harness.receive.usedElement(0, in: harness.memory) == (0, 0))
        #expect(try harness.receive.usedElement(1, in: harness.memory) == (1, UInt32(second.count)))
        #expect(harness.net.counters.malformedReceiveChains == 1)
        #expect(harness.pci.status & VirtioDeviceStatus.deviceNeedsReset == 0)
    }

    @Test func receiveOffloadsFollowTheAcceptedFeatures() throws {
        let harness = try NetHarness()
        try harness.start(features: Self.offloadFeatures | VirtioNet.Feature.mergeableReceiveBuffers)
        #expect(harness.backend.offloadHistory.last == [.checksum, .tso4, .tso6])
        harness.pci.setStatus(0)
        #expect(harness.backend.offloadHistory.last == [])
        // TSO without checksum offload is never passed on.
        #expect(VirtioNet.receiveOffloads(VirtioNet.Feature.guestTSO4) == [])
    }

    @Test func stateIsTheTapAndTheMAC() throws {
        let harness = try NetHarness()
        let state = harness.net.saveState()
        #expect(state == VirtioNet.State(tap: "test0", mac: NetHarness.mac))
        let json = String(decoding: try JSONEncoder().encode(state), as: UTF8.self)
        #expect(json.contains("\"02:53:57:00:00:01\""))
        #expect(try JSONDecoder().decode(VirtioNet.State.self, from: Data(json.utf8)) == state)
    }

    @Test func heldExternalRequestsKeepHostFramesOutOfGuestRAMUntilReleased() throws {
        let harness = try NetHarness()
        try harness.start(features: 0)
        try harness.postReceiveBuffers([2048])
        try harness.kick(0)
        // What a pause does: hold host-side requests, then drain.
        harness.pci.transport.core.holdExternalRequests()
        harness.pci.transport.drain()
        harness.backend.inject(NetHarness.frame(payloadLength: 500, seed: 1))
        // The tap's watch is level-triggered: held, it must go quiet, not spin the device's thread.
        let before = harness.pci.transport.core.worker.threadCPUTime
        Thread.sleep(forTimeInterval: 0.3)
        harness.pci.transport.drain()
        let spent = harness.pci.transport.core.worker.threadCPUTime - before
        #expect(spent < 0.1, "the device's thread used \(spent) s of CPU in 0.3 s while paused")
        #expect(harness.receive.usedIndex(in: harness.memory) == 0)
        // What a resume does: release, then look at every queue once.
        harness.pci.transport.core.releaseExternalRequests()
        harness.pci.transport.notifyQueue(0)
        #expect(harness.waitForReceived(1))
    }

    @Test func aMissingTapIsAClearError() {
        #expect(throws: VirtioNetError.tapNotFound("swl-no-such0")) { try TapBackend(name: "swl-no-such0") }
        #expect(throws: VirtioNetError.invalidTapName("a/b")) { try TapBackend(name: "a/b") }
        #expect(throws: VirtioNetError.invalidTapName("sixteen-bytes-xx")) { try TapBackend(name: "sixteen-bytes-xx") }
    }
}

@Suite struct MACAddressTests {
    @Test func parsesAndPrintsColonHex() {
        #expect(MACAddress("02:AB:cd:00:10:ff")?.bytes == [0x02, 0xAB, 0xCD, 0x00, 0x10, 0xFF])
        #expect(MACAddress("02:ab:cd:00:10:ff")?.description == "02:ab:cd:00:10:ff")
        for bad in ["", "02:ab:cd:00:10", "02:ab:cd:00:10:ff:00", "2:ab:cd:00:10:ff", "02:ab:cd:00:10:fg", "02-ab-cd-00-10-ff"] {
            #expect(MACAddress(bad) == nil, "\(bad)")
        }
    }

    @Test func derivedAddressesAreLocallyAdministeredAndDistinct() {
        let first = MACAddress.locallyAdministered(index: 0)
        let second = MACAddress.locallyAdministered(index: 1)
        #expect(first.bytes[0] & 0x03 == 0x02)
        #expect(first != second)
        #expect(second.description == "02:53:57:00:00:01")
    }
}
