import Testing
import GuestMemory
@testable import Devices

/// Malformed rings and chains through the whole transport: each must be reported, set
/// DEVICE_NEEDS_RESET, raise a config interrupt and stop the queue, and nothing may crash.
@Suite struct QueueRejectionTests {
    let disk: TemporaryDisk
    let harness: VirtioHarness

    init() throws {
        disk = try TemporaryDisk(sectors: 16)
        (harness, _) = try VirtioHarness.blockHarness(disk: disk)
    }

    /// Asserts the device refused with `message` and is now dead until reset.
    func expectRejected(_ message: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        #expect(harness.errors == ["virtio-blk: \(message)"], sourceLocation: sourceLocation)
        #expect(harness.status & VirtioDeviceStatus.deviceNeedsReset != 0, sourceLocation: sourceLocation)
        #expect(harness.configInterrupts == 1, sourceLocation: sourceLocation)
        #expect(UInt8(harness.read(VirtioPCILayout.isr, width: 1)) & VirtioISR.configuration != 0, sourceLocation: sourceLocation)
        // A perfectly good request is now ignored: the queue stays stopped.
        let used = harness.usedIndex
        try harness.postRequest(type: BlockRequestType.flush, firstDescriptor: 8)
        try harness.kick()
        #expect(harness.usedIndex == used, sourceLocation: sourceLocation)
        #expect(harness.errors.count == 1, sourceLocation: sourceLocation)
    }

    @Test func validChainCompletes() throws {
        try harness.start()
        let status = try harness.postRequest(type: BlockRequestType.read, sector: 2, data: [DataBuffer(address: 0x40000, length: 512, writable: true)])
        try harness.kick()
        #expect(harness.usedIndex == 1)
        #expect(try harness.usedElement(0) == (0, 513))
        #expect(try harness.statusByte(status) == BlockStatus.ok)
        #expect(harness.errors.isEmpty)
        #expect(harness.status & VirtioDeviceStatus.deviceNeedsReset == 0)
    }

    @Test func loopIsRejected() throws {
        try harness.start()
        try harness.descriptor(0, address: 0x20000, length: 16, flags: DescriptorFlag.next, next: 1)
        try harness.descriptor(1, address: 0x20020, length: 1, flags: DescriptorFlag.next, next: 0)
        try harness.publish(0)
        try harness.kick()
        try expectRejected("rejected descriptor chain: loop")
    }

    @Test func selfLoopIsRejected() throws {
        try harness.start()
        try harness.descriptor(3, address: 0x20000, length: 16, flags: DescriptorFlag.next, next: 3)
        try harness.publish(3)
        try harness.kick()
        try expectRejected("rejected descriptor chain: loop")
    }

    @Test func bufferOutsideGuestRAMIsRejected() throws {
        try harness.start()
        try harness.postRequest(type: BlockRequestType.read, data: [DataBuffer(address: 0xFF000, length: 0x2000, writable: true)])
        try harness.kick()
        try expectRejected("rejected descriptor chain: buffer 0xff000+8192 is outside guest RAM")
    }

    @Test func wrappingAddressIsRejected() throws {
        try harness.start()
        try harness.postRequest(type: BlockRequestType.read, data: [DataBuffer(address: UInt64.max - 0xFF, length: 0x200, writable: true)])
        try harness.kick()
        try expectRejected("rejected descriptor chain: buffer 0xffffffffffffff00+512 is outside guest RAM")
    }

    @Test func headOutOfRangeIsRejected() throws {
        try harness.start()
        try harness.publish(16)
        try harness.kick()
        try expectRejected("rejected descriptor chain: head 16 out of range (queue size 16)")
    }

    @Test func nextOutOfRangeIsRejected() throws {
        try harness.start()
        try harness.descriptor(0, address: 0x20000, length: 16, flags: DescriptorFlag.next, next: 0xFFFF)
        try harness.publish(0)
        try harness.kick()
        try expectRejected("rejected descriptor chain: next 65535 out of range (queue size 16)")
    }

    @Test func availIndexJumpingAheadIsRejected() throws {
        try harness.start()
        try harness.memory.write(UInt16(17), at: VirtioHarness.availRing + 2)
        try harness.kick()
        #expect(harness.usedIndex == 0)
        try expectRejected("invalid avail ring: idx 17 is 17 ahead of 0 (queue size 16)")
    }

    @Test func readableAfterWritableIsRejected() throws {
        try harness.start()
        try harness.descriptor(0, address: 0x20020, length: 1, flags: DescriptorFlag.next | DescriptorFlag.write, next: 1)
        try harness.descriptor(1, address: 0x20000, length: 16)
        try harness.publish(0)
        try harness.kick()
        try expectRejected("rejected descriptor chain: device-readable buffer after a device-writable one")
    }

    @Test func indirectDescriptorsAreNotAccepted() throws {
        try harness.start()
        try harness.descriptor(0, address: 0x30000, length: 48, flags: DescriptorFlag.indirect)
        try harness.publish(0)
        try harness.kick()
        try expectRejected("rejected descriptor chain: indirect descriptor without VIRTIO_F_INDIRECT_DESC")
    }

    @Test func deviceWritableHeaderIsRejected() throws {
        try harness.start()
        try harness.postRequest(type: BlockRequestType.read, data: [DataBuffer(address: 0x40000, length: 512, writable: true)], headerWritable: true)
        try harness.kick()
        try expectRejected("rejected request: header needs 16 device-readable bytes, chain has 0")
    }

    @Test func readOnlyStatusByteIsRejected() throws {
        try harness.start()
        try harness.postRequest(type: BlockRequestType.write, data: [DataBuffer(address: 0x40000, length: 512, writable: false)], statusWritable: false)
        try harness.kick()
        try expectRejected("rejected request: no device-writable status byte")
        #expect(disk.contents()[0..<512].allSatisfy { $0 == 0 })
    }

    @Test(arguments: [UInt16(0), 12, 512])
    func invalidQueueSizeIsRejectedAtDriverOK(size: UInt16) throws {
        #expect(harness.negotiate(features: VirtioFeature.version1))
        try harness.enableMSIX()
        harness.write(0x10, 0, width: 2)
        harness.configureQueue(size: size, vector: 1)
        harness.setStatus(harness.status | VirtioDeviceStatus.driverOK)
        harness.transport.drain()
        try expectRejected("queue 0: invalid queue: size \(size) is not a power of two in 1...256")
    }

    @Test func ringOutsideRAMIsRejectedAtDriverOK() throws {
        #expect(harness.negotiate(features: VirtioFeature.version1))
        try harness.enableMSIX()
        harness.write(0x10, 0, width: 2)
        harness.configureQueue(size: 16, vector: 1, used: 0xFFFF0)
        harness.setStatus(harness.status | VirtioDeviceStatus.driverOK)
        harness.transport.drain()
        try expectRejected("queue 0: invalid queue: used ring at 0xffff0+134 is outside guest RAM")
    }

    @Test func aGuestLoopingOnErrorsCannotFloodTheLog() throws {
        let started = ContinuousClock.now
        for _ in 0..<60 {
            #expect(harness.negotiate(features: VirtioFeature.version1))
            harness.configureQueue(size: 0, vector: 1)
            harness.setStatus(harness.status | VirtioDeviceStatus.driverOK)
            harness.transport.drain()
            #expect(harness.status & VirtioDeviceStatus.deviceNeedsReset != 0)
        }
        // 10 per second: at most 10 for every one-second window the loop touched (a loaded
        // machine stretches the loop over more windows; unlimited, it would log all 60).
        let elapsed = ContinuousClock.now - started
        let windows = Int(elapsed.components.seconds) + 2
        #expect(harness.errors.count >= 10 && harness.errors.count <= 10 * windows + 1)
        #expect(harness.errors.prefix(10).allSatisfy { $0.hasPrefix("virtio-blk: queue 0: invalid queue: size 0") })
    }

    @Test func resetRecoversFromNeedsReset() throws {
        try harness.start()
        try harness.descriptor(0, address: 0x20000, length: 16, flags: DescriptorFlag.next, next: 0)
        try harness.publish(0)
        try harness.kick()
        #expect(harness.status & VirtioDeviceStatus.deviceNeedsReset != 0)
        harness.setStatus(0)
        #expect(harness.status == 0)
        try harness.memory.fill(0, at: VirtioHarness.availRing, count: 0x2000)
        harness.availIndex = 0
        try harness.start()
        let status = try harness.postRequest(type: BlockRequestType.flush)
        try harness.kick()
        #expect(try harness.statusByte(status) == BlockStatus.ok)
        #expect(harness.status & VirtioDeviceStatus.deviceNeedsReset == 0)
    }
}

/// The split ring on its own, below the transport.
@Suite struct QueueRingTests {
    let memory = try! GuestMemory(layout: [(base: 0, size: 0x20_0000)])

    func queue(size: UInt16, eventIndex: Bool = false, descriptors: UInt64 = 0x1000) throws -> Virtqueue {
        var configuration = VirtqueueConfiguration(size: size)
        configuration.descriptorTable = descriptors
        configuration.availRing = 0x18_0000
        configuration.usedRing = 0x19_0000
        configuration.enabled = true
        return try Virtqueue(index: 0, configuration: configuration, maxSize: 32768, memory: memory, eventIndex: eventIndex)
    }

    func descriptor(_ table: UInt64, _ index: UInt16, address: UInt64, length: UInt32, flags: UInt16, next: UInt16) throws {
        let entry = table + 16 * UInt64(index)
        try memory.write(address, at: entry)
        try memory.write(length, at: entry + 8)
        try memory.write(flags, at: entry + 12)
        try memory.write(next, at: entry + 14)
    }

    @Test func popsAValidChainAndWritesUsedElementThenIndex() throws {
        let ring = try queue(size: 8)
        try descriptor(0x1000, 5, address: 0x2000, length: 16, flags: DescriptorFlag.next, next: 2)
        try descriptor(0x1000, 2, address: 0x3000, length: 4096, flags: DescriptorFlag.next | DescriptorFlag.write, next: 7)
        try descriptor(0x1000, 7, address: 0x4000, length: 1, flags: DescriptorFlag.write, next: 0)
        try memory.write(UInt16(5), at: 0x18_0004)
        try memory.write(UInt16(1), at: 0x18_0002)
        let chain = try #require(try ring.popChain())
        #expect(chain.head == 5)
        #expect(chain.buffers.map { [$0.address.rawValue, UInt64($0.length), $0.deviceWritable ? 1 : 0] } == [
            [0x2000, 16, 0],
            [0x3000, 4096, 1],
            [0x4000, 1, 1],
        ])
        #expect(try ring.popChain() == nil)
        try ring.addUsed(head: 5, length: 4097)
        #expect(try memory.read(UInt16.self, at: 0x19_0002) == 1)
        #expect(try memory.read(UInt32.self, at: 0x19_0004) == 5)
        #expect(try memory.read(UInt32.self, at: 0x19_0008) == 4097)
        #expect(throws: VirtqueueError.usedHeadOutOfRange(8)) { try ring.addUsed(head: 8, length: 0) }
    }

    @Test func totalLengthAbove4GiBIsRejected() throws {
        // 4097 descriptors of 1 MiB each, all over the same RAM: each is in bounds, the sum is not.
        let ring = try queue(size: 8192, descriptors: 0x10_0000)
        for index in 0..<UInt16(4097) {
            try descriptor(0x10_0000, index, address: 0, length: 0x10_0000, flags: DescriptorFlag.next, next: index + 1)
        }
        try memory.write(UInt16(1), at: 0x18_0002)
        #expect(throws: VirtqueueError.lengthOverflow) { try ring.popChain() }
    }

    @Test func ringPlacementIsValidated() throws {
        var configuration = VirtqueueConfiguration(size: 16)
        configuration.descriptorTable = 0x1008
        #expect(throws: VirtqueueError.misalignedRing("descriptor table", address: 0x1008)) {
            try Virtqueue(index: 0, configuration: configuration, maxSize: 256, memory: memory, eventIndex: false)
        }
        configuration.descriptorTable = UInt64.max - 0xF
        #expect(throws: VirtqueueError.self) {
            try Virtqueue(index: 0, configuration: configuration, maxSize: 256, memory: memory, eventIndex: false)
        }
    }

    @Test func avail16BitWrapIsNotAJump() throws {
        let ring = try queue(size: 4)
        ring.restoreState(.init(nextAvail: 0xFFFF, nextUsed: 0xFFFF, usedAtLastNotification: 0xFFFF))
        try descriptor(0x1000, 0, address: 0x2000, length: 16, flags: 0, next: 0)
        try memory.write(UInt16(0), at: 0x18_0004 + 2 * 3)  // slot 0xFFFF % 4
        try memory.write(UInt16(0), at: 0x18_0002)  // idx wrapped to 0: one entry pending
        #expect(try ring.popChain()?.head == 0)
        try ring.addUsed(head: 0, length: 0)
        #expect(try memory.read(UInt16.self, at: 0x19_0002) == 0)
    }

    @Test func eventIndexSuppressesInterruptsUntilUsedEvent() throws {
        let ring = try queue(size: 8, eventIndex: true)
        let usedEvent: UInt64 = 0x18_0004 + 2 * 8
        let availEvent: UInt64 = 0x19_0004 + 8 * 8
        for index in 0..<UInt16(8) { try descriptor(0x1000, index, address: 0x2000, length: 16, flags: 0, next: 0) }
        func complete(_ count: Int) throws {
            for _ in 0..<count {
                let chain = try #require(try ring.popChain())
                try ring.addUsed(head: chain.head, length: 0)
            }
        }
        for slot in 0..<UInt64(8) { try memory.write(UInt16(slot), at: 0x18_0004 + 2 * slot) }
        try memory.write(UInt16(8), at: 0x18_0002)

        try memory.write(UInt16(0), at: usedEvent)  // interrupt when used.idx passes 0
        try complete(1)
        #expect(try ring.needsInterrupt())
        try memory.write(UInt16(4), at: usedEvent)  // not before used.idx passes 4
        try complete(2)
        #expect(try !ring.needsInterrupt())
        try complete(2)  // used.idx 3 -> 5 crosses 4
        #expect(try ring.needsInterrupt())
        #expect(try !ring.needsInterrupt())  // nothing new
        // avail_event asks the driver to kick for the next chain it adds, past those posted.
        #expect(try ring.rearmNotifications())  // 3 chains still pending
        #expect(try memory.read(UInt16.self, at: availEvent) == 8)
        try complete(3)
        #expect(try !ring.rearmNotifications())
        #expect(try memory.read(UInt16.self, at: availEvent) == 8)
    }

    /// A receive queue that leaves posted buffers unused (too small for the waiting frame)
    /// must still hear of the next buffer: the driver notifies only when its new avail.idx
    /// crosses avail_event (virtio 1.x §2.7.10, vring_need_event), so avail_event must not
    /// stay behind the index the driver has already posted.
    @Test func unusedChainsStillLetTheDriverNotifyForTheNextOne() throws {
        let ring = try queue(size: 8, eventIndex: true)
        let availEvent: UInt64 = 0x19_0004 + 8 * 8
        for index in 0..<UInt16(8) { try descriptor(0x1000, index, address: 0x2000, length: 16, flags: 0, next: 0) }
        for slot in 0..<UInt64(8) { try memory.write(UInt16(slot), at: 0x18_0004 + 2 * slot) }
        try memory.write(UInt16(3), at: 0x18_0002)
        // The device takes the three chains, finds them too small and puts them back.
        for _ in 0..<3 { _ = try #require(try ring.popChain()) }
        ring.unpop(3)
        #expect(try ring.rearmNotifications())
        let event = try memory.read(UInt16.self, at: availEvent)
        // The driver posts a fourth chain (avail.idx 3 -> 4): vring_need_event(event, 4, 3).
        let (new, old): (UInt16, UInt16) = (4, 3)
        #expect(new &- event &- 1 < new &- old, "avail_event \(event) keeps the driver from notifying")
    }

    @Test func noInterruptFlagSuppressesWithoutEventIndex() throws {
        let ring = try queue(size: 8)
        try descriptor(0x1000, 0, address: 0x2000, length: 16, flags: 0, next: 0)
        try memory.write(UInt16(1), at: 0x18_0000)  // VRING_AVAIL_F_NO_INTERRUPT
        try memory.write(UInt16(1), at: 0x18_0002)
        let chain = try #require(try ring.popChain())
        try ring.addUsed(head: chain.head, length: 0)
        #expect(try !ring.needsInterrupt())
    }
}

/// EVENT_IDX end to end: interrupts only when the driver's used_event is crossed.
@Suite struct QueueEventIndexTransportTests {
    @Test func interruptsFollowUsedEvent() throws {
        let disk = try TemporaryDisk(sectors: 4)
        let (harness, _) = try VirtioHarness.blockHarness(disk: disk)
        try harness.start(features: VirtioFeature.version1 | VirtioFeature.ringEventIndex)
        let usedEvent = VirtioHarness.availRing + 4 + 2 * 16
        let availEvent = VirtioHarness.usedRing + 4 + 8 * 16

        try harness.memory.write(UInt16(0), at: usedEvent)
        try harness.postRequest(type: BlockRequestType.flush, firstDescriptor: 0)
        try harness.kick()
        #expect(harness.queueInterrupts == 1)
        #expect(try harness.memory.read(UInt16.self, at: availEvent) == 1)

        try harness.memory.write(UInt16(2), at: usedEvent)  // driver wants an interrupt after the 3rd completion
        try harness.postRequest(type: BlockRequestType.flush, firstDescriptor: 4)
        try harness.kick()
        #expect(harness.usedIndex == 2)
        #expect(harness.queueInterrupts == 1)
        try harness.postRequest(type: BlockRequestType.flush, firstDescriptor: 8)
        try harness.kick()
        #expect(harness.usedIndex == 3)
        #expect(harness.queueInterrupts == 2)
    }
}
