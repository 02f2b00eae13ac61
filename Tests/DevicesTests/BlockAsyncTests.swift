#if canImport(Glibc)
import Glibc
#endif
import Dispatch
import Foundation
import Synchronization
import Testing
import GuestMemory
import SwiftletCore
@testable import Devices

/// An engine that keeps every operation until the test lets it run, so the test decides the
/// order in which requests finish.
final class HeldEngine: BlockIOEngine, Sendable {
    let name = "held"
    private let operations = Mutex<[BlockIOOperation]>([])
    private let handler: BlockIOCompletionHandler

    init(handler: @escaping BlockIOCompletionHandler) { self.handler = handler }

    func enqueue(_ operation: BlockIOOperation) -> Bool {
        operations.withLock { $0.append(operation) }
        return true
    }

    func submitQueued() {}

    var heldCount: Int { operations.withLock { $0.count } }

    /// Runs the operation that arrived `position`th and reports it, as an engine thread would.
    func release(_ position: Int) {
        let operation = operations.withLock { $0[position] }
        handler([BlockIOCompletion(token: operation.token, result: operation.runToTheEnd())])
    }

    /// Waits (up to 10 s) until `count` operations arrived.
    func waitForHeld(_ count: Int) -> Bool {
        for _ in 0..<1000 where heldCount < count { usleep(10_000) }
        return heldCount >= count
    }
}

/// An engine whose submission finishes what it submits, hands the completions to another
/// thread and waits for that thread to deliver them, as io_uring does when a read of a RAM-backed
/// file runs inside the submitting system call and the reaper answers it at once.
final class CompletingOnSubmitEngine: BlockIOEngine, Sendable {
    let name = "completing"
    private let queued = Mutex<[BlockIOOperation]>([])
    private let handler: BlockIOCompletionHandler
    /// Submissions whose completions were not delivered within 2 s of being handed over.
    let stalledSubmissions = Atomic<Int>(0)

    init(handler: @escaping BlockIOCompletionHandler) { self.handler = handler }

    func enqueue(_ operation: BlockIOOperation) -> Bool {
        queued.withLock { $0.append(operation) }
        return true
    }

    func submitQueued() {
        let operations = queued.withLock { queued in
            defer { queued = [] }
            return queued
        }
        guard !operations.isEmpty else { return }
        let completions = operations.map { BlockIOCompletion(token: $0.token, result: $0.runToTheEnd()) }
        let delivered = DispatchSemaphore(value: 0)
        let handler = handler
        DispatchQueue.global().async {
            handler(completions)
            delivered.signal()
        }
        // Waiting on would deadlock a device that submits under the lock; the completion
        // then arrives once the pass lets go of it.
        if delivered.wait(timeout: .now() + 2) == .timedOut { stalledSubmissions.add(1, ordering: .relaxed) }
    }
}

/// Builds an async block device around a `HeldEngine` and keeps the engine for the test.
final class HeldEngineBox: Sendable {
    private let engine = Mutex<HeldEngine?>(nil)
    var held: HeldEngine { engine.withLock { $0! } }

    var choice: BlockIOEngineChoice {
        .supplied { handler in
            let made = HeldEngine(handler: handler)
            self.engine.withLock { $0 = made }
            return made
        }
    }
}

extension VirtioHarness {
    /// Waits (up to 10 s) for the used index to reach `index`.
    func waitForUsedIndex(_ index: UInt16) -> Bool {
        for _ in 0..<1000 where usedIndex != index { usleep(10_000) }
        return usedIndex == index
    }

    /// Kicks queue 0 without waiting for the device: requests held by an engine would never
    /// let a drain return.
    func kickWithoutWaiting() throws {
        let address = try #require(transport.notifyAddress(queue: 0, barBase: bar))
        mmio.write(address, 0, width: 2)
    }
}

@Suite struct BlockAsyncTests {
    static func makeDevice(_ disk: TemporaryDisk, engine: String, options: VirtioBlock.Options = .init(ioEngine: .async)) throws -> VirtioBlock {
        let choice: BlockIOEngineChoice = engine == "threads" ? .threadPool : .automatic
        return try VirtioBlock(path: disk.path, readOnly: false, id: "async", rateLimit: nil, options: options, engineChoice: choice)
    }

    /// A started device whose requests wait in a `HeldEngine` until the test releases them.
    static func heldHarness() throws -> (TemporaryDisk, HeldEngineBox, VirtioHarness) {
        let disk = try TemporaryDisk(sectors: 16)
        let box = HeldEngineBox()
        let block = try VirtioBlock(path: disk.path, readOnly: false, id: "held", rateLimit: nil, options: .init(ioEngine: .async), engineChoice: box.choice)
        let harness = try VirtioHarness(device: block)
        try harness.start()
        return (disk, box, harness)
    }

    /// A drive that asked for io_uring and got threads says why, for the log.
    @Test func theThreadFallbackNamesWhyIOUringWasRefused() throws {
        let engine = try ThreadPoolEngine(deviceName: "fallback", fallbackReason: "io_uring refused: Operation not permitted") { _ in }
        #expect(engine.name == "threads (io_uring refused: Operation not permitted)")
        #expect(try ThreadPoolEngine(deviceName: "chosen") { _ in }.name == "threads")
    }

    /// The request tests of the sync engine, again through each asynchronous engine.
    @Test(arguments: ["io_uring", "threads"])
    func readsWritesFlushesAndErrorsThroughTheEngine(engine: String) throws {
        let disk = try TemporaryDisk(sectors: 16)
        let block = try Self.makeDevice(disk, engine: engine)
        #expect(block.asynchronousEngineName == engine)
        let harness = try VirtioHarness(device: block)
        try harness.start()

        let segments = [
            DataBuffer(address: 0x40000, length: 512, writable: true),
            DataBuffer(address: 0x48000, length: 1024, writable: true),
        ]
        let read = try harness.postRequest(type: BlockRequestType.read, sector: 2, data: segments)
        try harness.kick()
        #expect(try harness.statusByte(read) == BlockStatus.ok)
        #expect(try harness.usedElement(0) == (0, 1537))
        #expect(try harness.memory.readBytes(at: 0x40000, count: 512).allSatisfy { $0 == 2 })
        let middle = try harness.memory.readBytes(at: 0x48000, count: 1024)
        #expect(middle[0..<512].allSatisfy { $0 == 3 } && middle[512...].allSatisfy { $0 == 4 })

        let pattern = (0..<1024).map { UInt8(truncatingIfNeeded: $0 &* 13) }
        try harness.memory.write(bytes: pattern, at: 0x50000)
        let write = try harness.postRequest(
            type: BlockRequestType.write, sector: 7, data: [DataBuffer(address: 0x50000, length: 1024, writable: false)], firstDescriptor: 4)
        try harness.kick()
        #expect(try harness.statusByte(write) == BlockStatus.ok)
        #expect(Array(disk.contents()[3584..<4608]) == pattern)

        let flush = try harness.postRequest(type: BlockRequestType.flush, firstDescriptor: 8)
        try harness.kick()
        #expect(try harness.statusByte(flush) == BlockStatus.ok)

        // Past the end: refused before any I/O, with the same status as the sync engine.
        let outside = try harness.postRequest(
            type: BlockRequestType.read, sector: 16, data: [DataBuffer(address: 0x40000, length: 512, writable: true)], firstDescriptor: 12)
        try harness.kick()
        #expect(try harness.statusByte(outside) == BlockStatus.ioError)
        #expect(harness.usedIndex == 4)
        #expect(harness.queueInterrupts == 4)
        let counters = block.counters
        #expect(counters.reads == 1 && counters.writes == 1 && counters.flushes == 1 && counters.failedRequests == 1)
        #expect(counters.readBytes == 1536 && counters.writtenBytes == 1024)
        #expect(harness.errors.isEmpty)
    }

    @Test func requestsReachTheUsedRingInTheOrderTheHostFinishesThem() throws {
        let (_, box, harness) = try Self.heldHarness()

        let first = try harness.postRequest(type: BlockRequestType.read, sector: 1, data: [DataBuffer(address: 0x40000, length: 512, writable: true)])
        let second = try harness.postRequest(
            type: BlockRequestType.read, sector: 2, data: [DataBuffer(address: 0x44000, length: 512, writable: true)], firstDescriptor: 4)
        try harness.kickWithoutWaiting()
        #expect(box.held.waitForHeld(2))
        #expect(harness.usedIndex == 0)

        // Not a drain: that waits for every request in flight, the held first one included.
        box.held.release(1)
        #expect(harness.waitForUsedIndex(1))
        #expect(try harness.usedElement(0) == (4, 513))
        #expect(try harness.statusByte(second) == BlockStatus.ok)
        #expect(try harness.statusByte(first) == 0xFF, "the first request is still in flight")

        box.held.release(0)
        harness.transport.drain()
        #expect(try harness.usedElement(1) == (0, 513))
        #expect(try harness.statusByte(first) == BlockStatus.ok)
        #expect(try harness.memory.readBytes(at: 0x40000, count: 512).allSatisfy { $0 == 1 })
        #expect(try harness.memory.readBytes(at: 0x44000, count: 512).allSatisfy { $0 == 2 })
        #expect(harness.queueInterrupts == 2)
    }

    /// The engine submits after the pass has let go of the queues' lock: completions delivered
    /// during a submission (io_uring can finish a read inside the system call) reach the used
    /// ring at once instead of waiting for the submission to end.
    @Test func completionsDuringASubmissionDoNotWaitForIt() throws {
        let disk = try TemporaryDisk(sectors: 16)
        let engine = Mutex<CompletingOnSubmitEngine?>(nil)
        let choice = BlockIOEngineChoice.supplied { handler in
            let made = CompletingOnSubmitEngine(handler: handler)
            engine.withLock { $0 = made }
            return made
        }
        let block = try VirtioBlock(path: disk.path, readOnly: false, id: "inline", rateLimit: nil, options: .init(ioEngine: .async), engineChoice: choice)
        let harness = try VirtioHarness(device: block)
        try harness.start()

        let read = try harness.postRequest(type: BlockRequestType.read, sector: 3, data: [DataBuffer(address: 0x40000, length: 512, writable: true)])
        try harness.kick()
        #expect(try harness.statusByte(read) == BlockStatus.ok)
        #expect(try harness.usedElement(0) == (0, 513))
        #expect(try harness.memory.readBytes(at: 0x40000, count: 512).allSatisfy { $0 == 3 })
        let stalled = try #require(engine.withLock { $0 }).stalledSubmissions.load(ordering: .relaxed)
        #expect(stalled == 0, "a completion waited for the submission that produced it")
    }

    /// A pause drains the device: it must not return while a request is still with the engine.
    @Test func drainingWaitsForRequestsInFlight() throws {
        let (_, box, harness) = try Self.heldHarness()
        try harness.postRequest(type: BlockRequestType.read, sector: 1, data: [DataBuffer(address: 0x40000, length: 512, writable: true)])
        try harness.postRequest(type: BlockRequestType.flush, firstDescriptor: 4)
        try harness.kickWithoutWaiting()
        #expect(box.held.waitForHeld(2))

        let engine = box.held
        DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(200)) {
            engine.release(1)
            engine.release(0)
        }
        harness.transport.drain()
        #expect(harness.usedIndex == 2, "drain returned with requests still in flight")
    }

    /// Every descriptor of the ring can be in flight at once, and no more: a driver that makes a
    /// head available again while its request is in flight breaks the queue, and the
    /// completions of the requests still in flight then never touch the ring.
    @Test func aFullRingIsAllInFlightAndAReusedHeadBreaksTheQueue() throws {
        let (_, box, harness) = try Self.heldHarness()
        // Header and status: two descriptors per flush, so 16 descriptors make 8 requests.
        for request in 0..<8 { try harness.postRequest(type: BlockRequestType.flush, firstDescriptor: UInt16(2 * request)) }
        try harness.kickWithoutWaiting()
        #expect(box.held.waitForHeld(8))
        #expect(harness.usedIndex == 0)

        try harness.publish(0)
        try harness.kickWithoutWaiting()
        for _ in 0..<1000 where harness.errors.isEmpty { usleep(10_000) }
        #expect(harness.errors.contains { $0.contains("descriptor 0 was made available again while its request is in flight") }, "\(harness.errors)")
        #expect(harness.status & VirtioDeviceStatus.deviceNeedsReset != 0)
        #expect(box.held.heldCount == 8)

        for position in 0..<8 { box.held.release(position) }
        harness.transport.drain()
        #expect(harness.usedIndex == 0)
    }

    /// The driver's reset returns only once the engine is done with guest RAM, and what the
    /// engine then reports is dropped: the driver owns the rings again.
    @Test func aResetWaitsForTheEngineAndDropsItsCompletions() throws {
        let (_, box, harness) = try Self.heldHarness()
        try harness.postRequest(type: BlockRequestType.read, sector: 3, data: [DataBuffer(address: 0x40000, length: 512, writable: true)])
        try harness.kickWithoutWaiting()
        #expect(box.held.waitForHeld(1))

        let engine = box.held
        let released = Atomic<Bool>(false)
        DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(200)) {
            released.store(true, ordering: .sequentiallyConsistent)
            engine.release(0)
        }
        harness.setStatus(0)
        let releasedBeforeTheResetReturned = released.load(ordering: .sequentiallyConsistent)
        #expect(releasedBeforeTheResetReturned, "the reset returned before the engine finished")
        harness.transport.drain()
        #expect(harness.usedIndex == 0)
        #expect(harness.status == 0)
        // The device works again after the driver sets it up anew.
        harness.availIndex = 0
        try harness.memory.write(UInt16(0), at: VirtioHarness.availRing + 2)
        try harness.start()
        let again = try harness.postRequest(type: BlockRequestType.flush)
        try harness.kickWithoutWaiting()
        #expect(box.held.waitForHeld(2))
        box.held.release(1)
        harness.transport.drain()
        #expect(try harness.statusByte(again) == BlockStatus.ok)
    }

    /// A VM torn down with a request in flight: letting go of the device does not wait for
    /// the engine, and the request's late completion finds guest RAM still mapped (the engine's
    /// context keeps it) and no queue to answer in.
    @Test func aDeviceReleasedWithARequestInFlightLeavesTheEngineToFinish() throws {
        let box = HeldEngineBox()
        let memory = try GuestMemory(layout: [AddressRange(start: 0, length: 0x10_0000)!])
        let disk = try TemporaryDisk(sectors: 16)
        var harness: VirtioHarness? = try VirtioHarness(
            device: try VirtioBlock(path: disk.path, readOnly: false, id: "held", rateLimit: nil, options: .init(ioEngine: .async), engineChoice: box.choice),
            memory: memory)
        try harness?.start()
        try harness?.postRequest(type: BlockRequestType.read, sector: 7, data: [DataBuffer(address: 0x40000, length: 512, writable: true)])
        try harness?.kickWithoutWaiting()
        #expect(box.held.waitForHeld(1))

        let released = DispatchSemaphore(value: 0)
        let owner = Mutex<VirtioHarness?>(harness)
        harness = nil
        Thread.detachNewThread {
            owner.withLock { $0 = nil }
            released.signal()
        }
        #expect(released.wait(timeout: .now() + 10) == .success, "releasing the device waited for the engine")
        box.held.release(0)
        #expect(try memory.readBytes(at: 0x40000, count: 512).allSatisfy { $0 == 7 })
        #expect(try memory.read(UInt16.self, at: VirtioHarness.usedRing + 2) == 0)
    }

    /// VIRTIO_BLK_F_MQ: num_queues in the config space, and a request on the second queue is
    /// answered in that queue's used ring with that queue's MSI-X vector.
    @Test func aSecondQueueServesItsOwnRequests() throws {
        let disk = try TemporaryDisk(sectors: 16)
        let block = try Self.makeDevice(disk, engine: "io_uring", options: .init(ioEngine: .async, queueCount: 2))
        let harness = try VirtioHarness(device: block)
        #expect(harness.offeredFeatures() & VirtioBlock.featureMultiqueue != 0)
        #expect(harness.read(VirtioPCILayout.deviceConfiguration + 34, width: 2) == 2)

        #expect(harness.negotiate(features: VirtioFeature.version1 | VirtioBlock.featureMultiqueue))
        try harness.enableMSIX()
        harness.write(0x10, 0, width: 2)
        harness.configureQueue(0, size: 16, vector: 1)
        let (table, avail, used): (UInt64, UInt64, UInt64) = (0x13000, 0x14000, 0x15000)
        harness.configureQueue(1, size: 16, vector: 2, descriptors: table, avail: avail, used: used)
        harness.setStatus(harness.status | VirtioDeviceStatus.driverOK)
        harness.transport.drain()

        // Header, one data buffer, status, written by hand into queue 1's rings.
        let header: UInt64 = 0x30000
        try harness.memory.write(BlockRequestType.read, at: header)
        try harness.memory.write(UInt64(5), at: header + 8)
        try harness.memory.write(UInt8(0xFF), at: header + 0x20)
        let descriptors: [(UInt64, UInt32, UInt16)] = [(header, 16, 1), (0x40000, 512, 1 | 2), (header + 0x20, 1, 2)]
        for (index, (address, length, flags)) in descriptors.enumerated() {
            let entry = table + 16 * UInt64(index)
            try harness.memory.write(address, at: entry)
            try harness.memory.write(length, at: entry + 8)
            try harness.memory.write(flags, at: entry + 12)
            try harness.memory.write(UInt16(index + 1), at: entry + 14)
        }
        try harness.memory.write(UInt16(0), at: avail + 4)
        try harness.memory.write(UInt16(1), at: avail + 2)
        let notify = try #require(harness.transport.notifyAddress(queue: 1, barBase: harness.bar))
        harness.mmio.write(notify, 1, width: 2)
        harness.transport.drain()

        #expect(try harness.memory.read(UInt16.self, at: used + 2) == 1)
        #expect(try harness.memory.read(UInt32.self, at: used + 8) == 513)
        #expect(try harness.memory.read(UInt8.self, at: header + 0x20) == BlockStatus.ok)
        #expect(try harness.memory.readBytes(at: 0x40000, count: 512).allSatisfy { $0 == 5 })
        #expect(harness.msi.messages.filter { $0.data == 0x22 }.count == 1)
        #expect(harness.usedIndex == 0, "queue 0 saw nothing")
    }

    /// O_DIRECT: aligned buffers go straight to the engine, and buffers O_DIRECT would refuse
    /// (here a sector split 100 + 924 bytes) go through an aligned bounce buffer.
    @Test(arguments: [VirtioBlock.IOEngine.sync, .async])
    func directImagesServeAlignedAndUnalignedBuffers(engine: VirtioBlock.IOEngine) throws {
        let disk = try TemporaryDisk(sectors: 16)
        let block = try Self.makeDevice(disk, engine: "io_uring", options: .init(ioEngine: engine, direct: true))
        let harness = try VirtioHarness(device: block)
        try harness.start()

        let aligned = try harness.postRequest(type: BlockRequestType.read, sector: 4, data: [DataBuffer(address: 0x40000, length: 1024, writable: true)])
        try harness.kick()
        #expect(try harness.statusByte(aligned) == BlockStatus.ok)
        let bytes = try harness.memory.readBytes(at: 0x40000, count: 1024)
        #expect(bytes[0..<512].allSatisfy { $0 == 4 } && bytes[512...].allSatisfy { $0 == 5 })

        let pattern = (0..<1024).map { UInt8(truncatingIfNeeded: $0 &* 3 &+ 1) }
        try harness.memory.write(bytes: Array(pattern[0..<100]), at: 0x50064)
        try harness.memory.write(bytes: Array(pattern[100...]), at: 0x58003)
        let write = try harness.postRequest(
            type: BlockRequestType.write, sector: 9,
            data: [DataBuffer(address: 0x50064, length: 100, writable: false), DataBuffer(address: 0x58003, length: 924, writable: false)],
            firstDescriptor: 4)
        try harness.kick()
        #expect(try harness.statusByte(write) == BlockStatus.ok)
        #expect(Array(disk.contents()[4608..<5632]) == pattern)

        let read = try harness.postRequest(
            type: BlockRequestType.read, sector: 9,
            data: [DataBuffer(address: 0x60001, length: 1000, writable: true), DataBuffer(address: 0x68000, length: 24, writable: true)],
            firstDescriptor: 8)
        try harness.kick()
        #expect(try harness.statusByte(read) == BlockStatus.ok)
        #expect(try harness.memory.readBytes(at: 0x60001, count: 1000) + harness.memory.readBytes(at: 0x68000, count: 24) == pattern)
    }

    @Test func theOptionsAreSavedAndOlderStatesRestoreWithTheDefaults() throws {
        let disk = try TemporaryDisk(sectors: 16)
        let options = VirtioBlock.Options(cacheType: .unsafe, ioEngine: .async, direct: true, queueCount: 3)
        let block = try Self.makeDevice(disk, engine: "io_uring", options: options)
        let state = block.saveState()
        #expect(state.options == options)
        let path = disk.path
        let older = try JSONDecoder().decode(VirtioBlock.State.self, from: Data(#"{"path": "\#(path)", "readOnly": true, "id": "old"}"#.utf8))
        #expect(older.options == VirtioBlock.Options())
        #expect(throws: VirtioBlockError.queueCount(0, maximum: 64)) {
            try VirtioBlock(restoring: VirtioBlock.State(path: path, readOnly: true, id: "bad", options: .init(queueCount: 0)))
        }
    }
}
