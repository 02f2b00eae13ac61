import Foundation
import Testing
import GuestMemory
@testable import Devices

@Suite struct VirtioSnapshotTests {
    /// Copies guest RAM the way a snapshot's memory file would.
    func copy(_ memory: GuestMemory) throws -> GuestMemory {
        let copy = try GuestMemory(layout: [(base: 0, size: 0x10_0000)])
        try copy.write(bytes: memory.readBytes(at: 0, count: 0x10_0000), at: 0)
        return copy
    }

    @Test func runningQueueSurvivesSaveAndRestore() throws {
        let disk = try TemporaryDisk(sectors: 16)
        let (source, block) = try VirtioHarness.blockHarness(disk: disk, id: "snap")
        // The guest moved the BAR away from where the VMM put it.
        source.ports.write(slot: source.slot, register: 0x10, value: 0xD000_000C)
        source.ports.write(slot: source.slot, register: 0x14, value: 0)
        try source.start(features: VirtioFeature.version1 | VirtioFeature.ringEventIndex | VirtioBlock.featureFlush)
        try source.postRequest(type: BlockRequestType.flush, firstDescriptor: 0)
        try source.kick()
        source.write(VirtioPCILayout.msixTable + 16 + 12, 1, width: 4)  // mask the queue vector
        try source.memory.write(UInt16(1), at: VirtioHarness.availRing + 4 + 2 * 16)  // used_event: interrupt on next completion
        try source.postRequest(type: BlockRequestType.flush, firstDescriptor: 4)
        try source.kick()
        #expect(source.transport.msix.isPending(1))
        // A third request is posted but not yet kicked when the VM is paused.
        let pendingStatus = try source.postRequest(type: BlockRequestType.read, sector: 7, data: [DataBuffer(address: 0x40000, length: 512, writable: true)], firstDescriptor: 8)

        let saved = source.transport.saveState()
        let savedBlock = block.saveState()
        #expect(saved.core.queues[0] == Virtqueue.State(nextAvail: 2, nextUsed: 2, usedAtLastNotification: 2))
        let encoded = try JSONEncoder().encode(saved)
        let decoded = try JSONDecoder().decode(VirtioPCIDevice.State.self, from: encoded)
        #expect(decoded == saved)
        #expect(try JSONDecoder().decode(VirtioBlock.State.self, from: JSONEncoder().encode(savedBlock)) == savedBlock)

        // A fresh VMM: new bus, new devices built from the saved block state, then restore.
        // The source still holds its image (and its lock): the clone runs on a copy.
        let cloneDisk = try TemporaryDisk(sectors: 16)
        var cloneState = savedBlock
        cloneState.path = cloneDisk.path
        #expect(throws: VirtioBlockError.inUse(path: disk.path, readOnly: false)) { try VirtioBlock(restoring: savedBlock) }
        let restoredBlock = try VirtioBlock(restoring: cloneState)
        let target = try VirtioHarness(device: restoredBlock, memory: try copy(source.memory))
        try target.transport.restoreState(decoded)
        #expect(target.transport.saveState() == saved)
        #expect(target.root.refreshMappings() == [PCIRoot.BARMapping(slot: target.slot, bar: 0, base: 0xD000_0000)])
        #expect(target.root.mappedAddress(slot: target.slot, bar: 0) == 0xD000_0000)
        #expect(target.status == source.status)
        #expect(target.transport.msix.isEnabled)
        #expect(restoredBlock.id == "snap")

        target.queueSize = 16
        target.availIndex = source.availIndex
        try target.kick()
        #expect(target.usedIndex == 3)
        #expect(try target.statusByte(pendingStatus) == BlockStatus.ok)
        #expect(try target.memory.readBytes(at: 0x40000, count: 512).allSatisfy { $0 == 7 })
        // The interrupt that was pending at save time arrives on unmask.
        #expect(target.queueInterrupts == 0)
        target.write(VirtioPCILayout.msixTable + 16 + 12, 0, width: 4)
        #expect(target.queueInterrupts == 1)
        #expect(target.errors.isEmpty)
    }

    @Test func restoreRejectsStatesAGuestCouldNotHaveProduced() throws {
        let disk = try TemporaryDisk(sectors: 4)
        let (harness, block) = try VirtioHarness.blockHarness(disk: disk)
        try harness.start()
        let saved = harness.transport.saveState()

        var zeroSize = saved
        zeroSize.core.registers.queues[0].size = 0
        #expect(throws: VirtioError.self) { try harness.transport.restoreState(zeroSize) }

        var outsideRAM = saved
        outsideRAM.core.registers.queues[0].usedRing = 0x20_0000
        #expect(throws: VirtioError.self) { try harness.transport.restoreState(outsideRAM) }

        var badVector = saved
        badVector.core.registers.configVector = 9
        #expect(throws: VirtioError.self) { try harness.transport.restoreState(badVector) }

        var noVersion1 = saved
        noVersion1.core.registers.driverFeatures = VirtioBlock.featureFlush
        #expect(throws: VirtioError.self) { try harness.transport.restoreState(noVersion1) }

        var liveButDisabled = saved
        liveButDisabled.core.registers.queues[0].enabled = false
        #expect(throws: VirtioError.self) { try harness.transport.restoreState(liveButDisabled) }

        var wrongQueueCount = saved
        wrongQueueCount.core.queues.append(nil)
        #expect(throws: VirtioError.self) { try harness.transport.restoreState(wrongQueueCount) }

        var otherDevice = saved
        otherDevice.configuration.bytes[2] = 0x41  // device ID is read-only
        #expect(throws: PCIError.self) { try harness.transport.restoreState(otherDevice) }

        // The device still works after the refused restores.
        try harness.transport.restoreState(saved)
        let status = try harness.postRequest(type: BlockRequestType.flush)
        try harness.kick()
        #expect(try harness.statusByte(status) == BlockStatus.ok)

        #expect(block.path == disk.path)
    }

    @Test func aBlockDeviceIsBuiltFromItsSavedState() throws {
        let disk = try TemporaryDisk(sectors: 8, extraBytes: 100)
        let original = try VirtioBlock(path: disk.path, readOnly: true, id: "data")
        let saved = original.saveState()
        #expect(saved == VirtioBlock.State(path: disk.path, readOnly: true, id: "data"))

        let rebuilt = try VirtioBlock(restoring: saved)
        #expect(rebuilt.path == disk.path)
        #expect(rebuilt.readOnly)
        #expect(rebuilt.id == "data")
        #expect(rebuilt.capacity == 8)
        #expect(rebuilt.deviceFeatures == original.deviceFeatures)
        // The rebuilt device serves the disk: GET_ID and a read through a fresh transport.
        let harness = try VirtioHarness(device: rebuilt)
        try harness.start()
        let status = try harness.postRequest(type: BlockRequestType.read, sector: 5, data: [DataBuffer(address: 0x40000, length: 512, writable: true)])
        try harness.kick()
        #expect(try harness.statusByte(status) == BlockStatus.ok)
        #expect(try harness.memory.readBytes(at: 0x40000, count: 512).allSatisfy { $0 == 5 })

        // The same checks as a boot: a missing file, a too-long ID.
        #expect(throws: VirtioBlockError.fileNotFound(path: "/nonexistent")) {
            try VirtioBlock(restoring: .init(path: "/nonexistent", readOnly: false, id: "x"))
        }
        #expect(throws: VirtioBlockError.self) {
            try VirtioBlock(restoring: .init(path: disk.path, readOnly: true, id: String(repeating: "x", count: 21)))
        }
    }
}
