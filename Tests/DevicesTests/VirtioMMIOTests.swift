import Foundation
import Testing
import GuestMemory
@testable import Devices

@Suite struct VirtioMMIOTests {
    typealias R = VirtioMMIORegisters
    let disk: TemporaryDisk
    let harness: VirtioMMIOHarness

    init() throws {
        disk = try TemporaryDisk(sectors: 16)
        harness = try VirtioMMIOHarness(device: try VirtioBlock(path: disk.path, readOnly: false, id: "mmio-disk"))
    }

    @Test func identityIsVersionTwoBlockDevice() {
        #expect(harness.read(R.magicValue) == 0x7472_6976)
        #expect(harness.read(R.version) == 2)
        #expect(harness.read(R.deviceID) == 2)
        #expect(harness.read(R.vendorID) == 0x1AF4)
        // Capacity (device config offset 0) in sectors, through the config window at 0x100.
        #expect(harness.read(R.deviceConfiguration, width: 8) == 16)
        #expect(harness.read(R.deviceConfiguration, width: 1) == 16)
    }

    @Test func registersAnswerOnlyAlignedDwordAccesses() {
        // A byte or word read of the magic value, or a misaligned dword, reads zero.
        #expect(harness.read(R.magicValue, width: 1) == 0)
        #expect(harness.read(R.magicValue, width: 2) == 0)
        #expect(harness.read(R.magicValue + 2) == 0)
        #expect(harness.read(R.magicValue, width: 8) == 0)
        // A byte write of status is ignored.
        harness.write(R.status, UInt64(VirtioDeviceStatus.acknowledge), width: 1)
        #expect(harness.status == 0)
        // Holes in the layout read zero and ignore writes.
        #expect(harness.read(0x018) == 0)
        harness.write(0x018, 0xFFFF_FFFF)
        #expect(harness.read(0x018) == 0)
        // Shared memory regions do not exist: length reads all ones.
        #expect(harness.read(R.sharedMemoryLengthLow) == 0xFFFF_FFFF)
    }

    @Test func featuresArePagedBySelect() {
        let offered = harness.offeredFeatures()
        #expect(offered & VirtioFeature.version1 != 0)
        #expect(offered & VirtioFeature.ringEventIndex != 0)
        #expect(offered & (1 << 9) != 0)  // VIRTIO_BLK_F_FLUSH
        // Pages past the second read zero.
        harness.write(R.deviceFeaturesSelect, 2)
        #expect(harness.read(R.deviceFeatures) == 0)
        harness.write(R.deviceFeaturesSelect, 0xFFFF_FFFF)
        #expect(harness.read(R.deviceFeatures) == 0)
    }

    @Test func driverWithoutVersion1FailsFeaturesOK() {
        #expect(harness.negotiate(features: 0) == false)
        #expect(harness.negotiate(features: VirtioFeature.version1 | (1 << 40)) == false)
        #expect(harness.negotiate(features: VirtioFeature.version1) == true)
    }

    @Test func statusBitsOnlyAccumulateAndDriverOKNeedsFeaturesOK() {
        harness.setStatus(VirtioDeviceStatus.acknowledge)
        harness.setStatus(VirtioDeviceStatus.acknowledge | VirtioDeviceStatus.driver | VirtioDeviceStatus.driverOK)
        #expect(harness.status == VirtioDeviceStatus.acknowledge | VirtioDeviceStatus.driver)
        harness.setStatus(VirtioDeviceStatus.driver)
        #expect(harness.status == VirtioDeviceStatus.acknowledge | VirtioDeviceStatus.driver)
        // Values wider than a byte are not a status.
        harness.write(R.status, 0x103)
        #expect(harness.status == VirtioDeviceStatus.acknowledge | VirtioDeviceStatus.driver)
    }

    @Test func queueRegistersFollowSelectAndFreezeAtDriverOK() throws {
        #expect(harness.negotiate(features: VirtioFeature.version1))
        harness.write(R.queueSelect, 0)
        #expect(harness.read(R.queueSizeMax) == UInt64(VirtioBlock.queueSize))
        #expect(harness.read(R.queueReady) == 0)
        harness.configureQueue(size: 16, descriptors: 0x1_2345_6000)
        #expect(harness.read(R.queueSize) == 16)
        #expect(harness.read(R.queueReady) == 1)
        #expect(harness.read(R.queueDescriptorLow) == 0x2345_6000)
        #expect(harness.read(R.queueDescriptorHigh) == 1)
        #expect(harness.read(R.queueDriverLow) == VirtioMMIOHarness.availRing)
        #expect(harness.read(R.queueDeviceLow) == VirtioMMIOHarness.usedRing)
        // A ready queue cannot be changed, nor un-readied.
        harness.write(R.queueSize, 8)
        harness.write(R.queueReady, 0)
        #expect(harness.read(R.queueSize) == 16)
        #expect(harness.read(R.queueReady) == 1)
        // A queue that does not exist has maximum 0 and keeps no writes.
        harness.write(R.queueSelect, 7)
        #expect(harness.read(R.queueSizeMax) == 0)
        harness.write(R.queueSize, 4)
        #expect(harness.read(R.queueSize) == 0)
        harness.write(R.queueSelect, 0x1_0000)
        #expect(harness.read(R.queueSizeMax) == 0)
    }

    @Test func queueSetupBeforeFeaturesOKIsIgnored() {
        harness.setStatus(VirtioDeviceStatus.acknowledge | VirtioDeviceStatus.driver)
        harness.configureQueue(size: 16)
        #expect(harness.read(R.queueReady) == 0)
        #expect(harness.read(R.queueDescriptorLow) == 0)
    }

    @Test func blockRequestsCompleteWithAnInterruptTheDriverAcknowledges() throws {
        try harness.start()
        #expect(harness.line.current == false)
        let buffer = DataBuffer(address: 0x30000, length: 512, writable: true)
        let status = try harness.postRequest(type: BlockRequestType.read, sector: 3, data: [buffer])
        harness.kick()
        #expect(harness.usedIndex == 1)
        #expect(try harness.statusByte(status) == BlockStatus.ok)
        #expect(try harness.memory.readBytes(at: 0x30000, count: 512) == [UInt8](repeating: 3, count: 512))
        #expect(harness.line.current == true)
        #expect(harness.acknowledgeInterrupt() == UInt64(VirtioISR.queue))
        #expect(harness.line.current == false)
        #expect(harness.read(R.interruptStatus) == 0)
        // A write through the same queue lands in the file.
        try harness.memory.fill(0xA5, at: 0x30000, count: 512)
        try harness.postRequest(type: BlockRequestType.write, sector: 1, data: [DataBuffer(address: 0x30000, length: 512, writable: false)], firstDescriptor: 4)
        harness.kick()
        #expect(harness.usedIndex == 2)
        #expect(Array(disk.contents()[512..<1024]) == [UInt8](repeating: 0xA5, count: 512))
        #expect(harness.line.current == true)
    }

    @Test func acknowledgingOnlySomeBitsKeepsTheLineUp() throws {
        try harness.start()
        try harness.postRequest(type: BlockRequestType.flush)
        harness.kick()
        #expect(harness.line.current == true)
        harness.write(R.interruptAcknowledge, UInt64(VirtioISR.configuration))
        #expect(harness.line.current == true)
        #expect(harness.read(R.interruptStatus) == UInt64(VirtioISR.queue))
        // Unknown acknowledgement bits are ignored; the queue bit clears it.
        harness.write(R.interruptAcknowledge, 0xFFFF_FFFC)
        #expect(harness.line.current == true)
        harness.write(R.interruptAcknowledge, UInt64(VirtioISR.queue))
        #expect(harness.line.current == false)
    }

    @Test func notifyOfAnUnknownQueueDoesNothing() throws {
        try harness.start()
        try harness.postRequest(type: BlockRequestType.flush)
        harness.kick(queue: 5)
        harness.kick(queue: 0xFFFF_FFFF)
        #expect(harness.usedIndex == 0)
        harness.kick(queue: 0)
        #expect(harness.usedIndex == 1)
    }

    @Test func hostileQueueSetupFailsTheDeviceNotTheVMM() throws {
        #expect(harness.negotiate(features: VirtioFeature.version1))
        // Size not a power of two, and a ring outside guest RAM.
        harness.configureQueue(size: 12, used: 0xFFFF_FFFF_FFFF_F000)
        harness.setStatus(harness.status | VirtioDeviceStatus.driverOK)
        harness.transport.drain()
        #expect(harness.status & VirtioDeviceStatus.deviceNeedsReset != 0)
        #expect(harness.read(R.interruptStatus) & UInt64(VirtioISR.configuration) != 0)
        #expect(harness.line.current == true)
        #expect(!harness.errors.isEmpty)
        // Kicks of the dead queue are ignored; a reset brings the device back.
        try harness.postRequest(type: BlockRequestType.flush)
        harness.kick()
        #expect(harness.usedIndex == 0)
        harness.setStatus(0)
        #expect(harness.line.current == false)
        harness.availIndex = 0
        try harness.memory.fill(0, at: VirtioMMIOHarness.availRing, count: 0x2000)
        try harness.start()
        try harness.postRequest(type: BlockRequestType.flush)
        harness.kick()
        #expect(harness.usedIndex == 1)
    }

    @Test func resetReturnsEveryRegisterToPowerOn() throws {
        try harness.start()
        try harness.postRequest(type: BlockRequestType.flush)
        harness.kick()
        harness.setStatus(0)
        #expect(harness.status == 0)
        #expect(harness.read(R.interruptStatus) == 0)
        #expect(harness.line.current == false)
        harness.write(R.queueSelect, 0)
        #expect(harness.read(R.queueReady) == 0)
        #expect(harness.read(R.queueDescriptorLow) == 0)
        #expect(harness.read(R.queueDriverLow) == 0)
        harness.write(R.driverFeaturesSelect, 1)
        harness.write(R.deviceFeaturesSelect, 1)
        #expect(harness.read(R.deviceFeatures) == VirtioFeature.version1 >> 32)
    }

    @Test func stateRoundTripsIntoAFreshTransport() throws {
        try harness.start()
        try harness.postRequest(type: BlockRequestType.flush)
        harness.kick()
        let state = harness.transport.saveState()
        let data = try JSONEncoder().encode(state)
        let decoded = try JSONDecoder().decode(VirtioMMIODevice.State.self, from: data)
        let line = RecordingInterruptLine()
        // A disk of its own: the first transport's device still holds the lock on `disk`.
        let freshDisk = try TemporaryDisk(sectors: 16)
        let fresh = try VirtioMMIODevice(
            device: try VirtioBlock(path: freshDisk.path, readOnly: false, id: "mmio-disk"), memory: harness.memory, interruptLine: line)
        try fresh.restoreState(decoded)
        #expect(fresh.saveState() == state)
        #expect(fresh.deviceStatus & VirtioDeviceStatus.driverOK != 0)
        // The pending interrupt is asserted again after the restore.
        #expect(line.current == true)
    }

    @Test func restoreRefusesStateThatNoDriverCouldHaveWritten() throws {
        var state = harness.transport.saveState()
        state.core.registers.status = VirtioDeviceStatus.driverOK
        #expect(throws: VirtioError.self) { try harness.transport.restoreState(state) }
        state = harness.transport.saveState()
        state.core.registers.configVector = 0
        #expect(throws: VirtioError.self) { try harness.transport.restoreState(state) }
        #expect(harness.status == 0)
    }

    @Test func deviceConfigurationPastItsEndReadsZero() throws {
        let probe = ProbeDevice()
        let harness = try VirtioMMIOHarness(device: probe)
        #expect(harness.read(R.deviceID) == 4)
        #expect(harness.read(R.deviceConfiguration) == 0x5A5A_5A5A)
        #expect(harness.read(R.deviceConfiguration + 4) == 0)
        harness.write(R.queueSelect, 1)
        #expect(harness.read(R.queueSizeMax) == 8)
    }
}
