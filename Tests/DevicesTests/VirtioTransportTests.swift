#if canImport(Glibc)
import Glibc
#endif
import Synchronization
import Testing
import GuestMemory
@testable import Devices

/// A minimal second device type: proves the transport needs nothing block-specific and
/// records which thread processes its queues.
final class ProbeDevice: VirtioDevice {
    let name = "virtio-probe"
    let deviceType: UInt16 = 4
    let deviceFeatures: UInt64 = 0
    let queueMaxSizes: [UInt16] = [16, 8]
    let configSpaceSize = 4
    let threads = Mutex<[pthread_t]>([])
    let resets = Mutex(0)

    func readConfig(offset: Int, data: UnsafeMutableRawBufferPointer) {
        for index in data.indices { data[index] = 0x5A }
    }
    func writeConfig(offset: Int, data: UnsafeRawBufferPointer) {}
    func activate(features: UInt64) throws {}
    func reset() { resets.withLock { $0 += 1 } }
    func process(queue: Virtqueue) throws {
        threads.withLock { $0.append(pthread_self()) }
        while let chain = try queue.popChain() { try queue.addUsed(head: chain.head, length: 0) }
    }
}

@Suite struct VirtioTransportTests {
    let disk: TemporaryDisk
    let harness: VirtioHarness

    init() throws {
        disk = try TemporaryDisk(sectors: 16)
        (harness, _) = try VirtioHarness.blockHarness(disk: disk)
    }

    @Test func pciIdentityMatchesWhatLinuxProbes() {
        let ports = harness.ports, slot = harness.slot
        #expect(ports.read(slot: slot, register: 0) == 0x1042_1AF4)
        #expect(ports.read(slot: slot, register: 0x08) == 0x0180_0001)  // class 01/80, revision 1
        #expect(ports.read(slot: slot, register: 0x2C) == 0x1042_1AF4)
        #expect(ports.read(slot: slot, register: 0x3D, width: 1) == 0)  // no INTx
        #expect(ports.read(slot: slot, register: 0x10) & 0x7 == 0b100)  // 64-bit memory BAR
        #expect(testMMIOWindow.contains(harness.bar))
    }

    @Test func capabilitiesDescribeTheBAR() throws {
        let ports = harness.ports, slot = harness.slot
        let capabilities = ports.capabilities(slot: slot)
        #expect(capabilities.filter { $0.id == PCICapabilityID.msix }.count == 1)
        var found: [UInt8: (offset: UInt64, length: UInt64)] = [:]
        for capability in capabilities where capability.id == PCICapabilityID.vendorSpecific {
            let type = UInt8(ports.read(slot: slot, register: capability.offset + 3, width: 1))
            #expect(ports.read(slot: slot, register: capability.offset + 4, width: 1) == 0)  // BAR 0
            let offset = ports.read(slot: slot, register: capability.offset + 8)
            let length = ports.read(slot: slot, register: capability.offset + 12)
            #expect(offset + length <= VirtioPCILayout.barSize)
            found[type] = (offset, length)
            if type == 2 {
                #expect(ports.read(slot: slot, register: capability.offset + 2, width: 1) == 20)
                #expect(ports.read(slot: slot, register: capability.offset + 16) == 4)  // notify_off_multiplier
            }
        }
        #expect(Set(found.keys) == [1, 2, 3, 4, 5])
        #expect(try #require(found[1]).length >= 0x38)
        // Linux: notify_off * multiplier + 2 <= notify length for every queue.
        harness.selectQueue(0)
        #expect(harness.read(0x1E, width: 2) * 4 + 2 <= (try #require(found[2])).length)
        // MSI-X table and PBA in BAR 0 at the advertised offsets.
        let msix = try #require(capabilities.first { $0.id == PCICapabilityID.msix })
        #expect(ports.read(slot: slot, register: msix.offset + 2, width: 2) == 1)  // 2 vectors
        #expect(ports.read(slot: slot, register: msix.offset + 4) == VirtioPCILayout.msixTable)
        #expect(ports.read(slot: slot, register: msix.offset + 8) == VirtioPCILayout.msixPBA)
        // Device config: capacity in sectors at offset 0.
        #expect(harness.read(VirtioPCILayout.deviceConfiguration, width: 8) == 16)
    }

    @Test func offersVersion1EventIdxAndFlush() throws {
        #expect(
            harness.offeredFeatures()
                == VirtioFeature.version1 | VirtioFeature.ringEventIndex | VirtioBlock.featureFlush | VirtioBlock.featureSegmentMax
                | VirtioBlock.featureDiscard | VirtioBlock.featureWriteZeroes)
        // A disk of its own: the harness holds `disk` read-write, and the lock keeps readers out.
        let otherDisk = try TemporaryDisk(sectors: 16)
        let (readOnly, _) = try VirtioHarness.blockHarness(disk: otherDisk, readOnly: true)
        #expect(readOnly.offeredFeatures() & VirtioBlock.featureReadOnly != 0)
    }

    @Test func driverWithoutVersion1FailsFeaturesOK() {
        #expect(!harness.negotiate(features: VirtioBlock.featureFlush))
        #expect(harness.status & VirtioDeviceStatus.featuresOK == 0)
        harness.setStatus(harness.status | VirtioDeviceStatus.featuresOK | VirtioDeviceStatus.driverOK)
        #expect(harness.status & (VirtioDeviceStatus.featuresOK | VirtioDeviceStatus.driverOK) == 0)
        // Accepting a feature that was never offered is refused the same way.
        #expect(!harness.negotiate(features: VirtioFeature.version1 | 1 << 40))
        #expect(harness.negotiate(features: VirtioFeature.version1))
    }

    @Test func statusBitsOnlyAccumulate() {
        #expect(harness.negotiate(features: VirtioFeature.version1))
        let status = harness.status
        harness.setStatus(VirtioDeviceStatus.acknowledge)  // tries to clear DRIVER and FEATURES_OK
        #expect(harness.status == status)
        harness.setStatus(status | VirtioDeviceStatus.deviceNeedsReset)
        #expect(harness.status & VirtioDeviceStatus.deviceNeedsReset == 0)
        // DRIVER_OK without FEATURES_OK is ignored.
        harness.setStatus(0)
        harness.setStatus(VirtioDeviceStatus.acknowledge | VirtioDeviceStatus.driver | VirtioDeviceStatus.driverOK)
        #expect(harness.status == VirtioDeviceStatus.acknowledge | VirtioDeviceStatus.driver)
    }

    @Test func invalidVectorsReadBackNoVector() throws {
        try harness.start()
        harness.write(0x10, 7, width: 2)
        #expect(harness.read(0x10, width: 2) == 0xFFFF)
        harness.write(0x10, 1, width: 2)
        #expect(harness.read(0x10, width: 2) == 1)
        #expect(harness.negotiate(features: VirtioFeature.version1))
        harness.selectQueue(0)
        harness.write(0x1A, 2, width: 2)
        #expect(harness.read(0x1A, width: 2) == 0xFFFF)
        harness.write(0x1A, 1, width: 2)
        #expect(harness.read(0x1A, width: 2) == 1)
    }

    @Test func queueRegistersFreezeAtDriverOK() throws {
        try harness.start()
        harness.selectQueue(0)
        harness.write(0x18, 4, width: 2)
        harness.write(0x20, 0x5000, width: 4)
        harness.write(0x1A, 0, width: 2)
        #expect(harness.read(0x18, width: 2) == 16)
        #expect(harness.read(0x20, width: 8) == VirtioHarness.descriptorTable)
        #expect(harness.read(0x1A, width: 2) == 1)
        #expect(harness.read(0x1C, width: 2) == 1)
        // Features freeze too.
        harness.write(0x08, 0, width: 4)
        harness.write(0x0C, 0xFFFF_FFFF, width: 4)
        #expect(harness.read(0x0C, width: 4) == 0)
        // A queue that does not exist reads size 0.
        harness.selectQueue(5)
        #expect(harness.read(0x18, width: 2) == 0)
    }

    @Test func resetReallyResets() throws {
        try harness.start()
        try harness.postRequest(type: BlockRequestType.flush)
        try harness.kick()
        #expect(harness.usedIndex == 1)
        harness.setStatus(0)
        #expect(harness.status == 0)
        harness.write(0x08, 1, width: 4)
        #expect(harness.read(0x0C, width: 4) == 0)
        harness.selectQueue(0)
        #expect(harness.read(0x18, width: 2) == UInt64(VirtioBlock.queueSize))
        #expect(harness.read(0x1A, width: 2) == 0xFFFF)
        #expect(harness.read(0x1C, width: 2) == 0)
        #expect(harness.read(0x20, width: 8) == 0)
        #expect(harness.read(0x10, width: 2) == 0xFFFF)
        // Kicks after reset do nothing; a fresh setup starts again from ring index 0.
        try harness.kick()
        try harness.memory.fill(0, at: VirtioHarness.availRing, count: 0x2000)
        harness.availIndex = 0
        try harness.start()
        let status = try harness.postRequest(type: BlockRequestType.flush)
        try harness.kick()
        #expect(harness.usedIndex == 1)
        #expect(try harness.statusByte(status) == BlockStatus.ok)
    }

    @Test func pciConfigurationWindowReachesTheBAR() throws {
        let ports = harness.ports, slot = harness.slot
        let window = try #require(ports.capabilities(slot: slot).first { capability in
            capability.id == PCICapabilityID.vendorSpecific && ports.read(slot: slot, register: capability.offset + 3, width: 1) == 5
        }).offset
        // Read the capacity (device config offset 0) through configuration space.
        ports.write(slot: slot, register: window + 4, value: 0, width: 1)
        ports.write(slot: slot, register: window + 8, value: VirtioPCILayout.deviceConfiguration)
        ports.write(slot: slot, register: window + 12, value: 4)
        #expect(ports.read(slot: slot, register: window + 16) == 16)
        // Write device_status through it.
        ports.write(slot: slot, register: window + 8, value: VirtioPCILayout.commonConfiguration + 0x14)
        ports.write(slot: slot, register: window + 12, value: 1)
        ports.write(slot: slot, register: window + 16, value: UInt64(VirtioDeviceStatus.acknowledge), width: 1)
        #expect(harness.status == VirtioDeviceStatus.acknowledge)
        // Nonsense (length 3, another BAR, past the BAR) does nothing.
        ports.write(slot: slot, register: window + 12, value: 3)
        ports.write(slot: slot, register: window + 16, value: 0, width: 1)
        #expect(harness.status == VirtioDeviceStatus.acknowledge)
        ports.write(slot: slot, register: window + 12, value: 1)
        ports.write(slot: slot, register: window + 4, value: 2, width: 1)
        ports.write(slot: slot, register: window + 16, value: 0, width: 1)
        ports.write(slot: slot, register: window + 4, value: 0, width: 1)
        ports.write(slot: slot, register: window + 8, value: 0xFFFF_FFFF)
        ports.write(slot: slot, register: window + 16, value: 0, width: 1)
        #expect(harness.status == VirtioDeviceStatus.acknowledge)
    }

    @Test func isrIsReadToClearAndInterruptsUseTheQueueVector() throws {
        try harness.start()
        try harness.postRequest(type: BlockRequestType.flush)
        try harness.kick()
        #expect(harness.msi.messages == [MSIMessage(address: VirtioHarness.msiAddress, data: 0x21)])
        #expect(harness.read(VirtioPCILayout.isr, width: 1) == 1)
        #expect(harness.read(VirtioPCILayout.isr, width: 1) == 0)
    }

    @Test func maskedQueueVectorPendsAndFiresOnUnmask() throws {
        try harness.start()
        harness.write(VirtioPCILayout.msixTable + 16 + 12, 1, width: 4)  // mask vector 1
        try harness.postRequest(type: BlockRequestType.flush)
        try harness.kick()
        #expect(harness.queueInterrupts == 0)
        #expect(harness.read(VirtioPCILayout.msixPBA, width: 8) == 0b10)
        harness.write(VirtioPCILayout.msixTable + 16 + 12, 0, width: 4)
        #expect(harness.queueInterrupts == 1)
        #expect(harness.read(VirtioPCILayout.msixPBA, width: 8) == 0)
    }

    @Test func notificationsRunOnTheDeviceQueueNotTheCaller() throws {
        let probe = ProbeDevice()
        let harness = try VirtioHarness(device: probe)
        #expect(harness.ports.read(slot: harness.slot, register: 0) == 0x1044_1AF4)
        #expect(harness.read(VirtioPCILayout.deviceConfiguration, width: 4) == 0x5A5A_5A5A)
        try harness.start()
        #expect(harness.transport.notifyAddress(queue: 1, barBase: harness.bar) == harness.bar + VirtioPCILayout.notify + 4)
        #expect(harness.transport.notifyAddress(queue: 2, barBase: harness.bar) == nil)
        try harness.descriptor(0, address: 0x30000, length: 8)
        try harness.publish(0)
        harness.transport.notifyQueue(0)
        harness.transport.notifyQueue(7)  // no such queue: ignored
        harness.transport.drain()
        let threads = probe.threads.withLock { $0 }
        #expect(threads.count == 1)
        #expect(threads.allSatisfy { pthread_equal($0, pthread_self()) == 0 })
        #expect(harness.usedIndex == 1)
        let resetsBefore = probe.resets.withLock { $0 }
        harness.setStatus(0)
        #expect(probe.resets.withLock { $0 } == resetsBefore + 1)
    }
}
