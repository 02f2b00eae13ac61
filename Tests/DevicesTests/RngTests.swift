import Foundation
import GuestMemory
import SwiftletCore
import Synchronization
import Testing
@testable import Devices

/// Fills buffers with 1, 2, 3, … (continuing across calls), or fails when told to, so tests
/// can see exactly which guest bytes the device wrote.
final class CountingEntropy: EntropySource {
    private let next = Mutex<UInt8>(1)
    let failing = Atomic<Bool>(false)

    func fill(_ buffer: UnsafeMutableRawBufferPointer) throws(SystemError) {
        guard !failing.load(ordering: .relaxed) else { throw SystemError("getrandom", code: EIO) }
        next.withLock { next in
            for index in buffer.indices {
                buffer[index] = next
                next &+= 1
            }
        }
    }
}

@Suite("virtio-rng through guest memory")
struct RngTests {
    static let data: UInt64 = 0x20000

    @Test func identifiesAsAnEntropyDeviceOnBothTransports() throws {
        let mmio = try VirtioMMIOHarness(device: VirtioRng())
        #expect(mmio.read(VirtioMMIORegisters.deviceID) == 4)
        #expect(mmio.offeredFeatures() & ~VirtioFeature.version1 & ~VirtioFeature.ringEventIndex == 0, "no device features")
        let pci = try VirtioHarness(device: VirtioRng())
        #expect(pci.ports.read(slot: pci.slot, register: 0) == 0x1044_1AF4)
    }

    @Test func fillsEveryWritableBufferOfAChainInOrder() throws {
        let source = CountingEntropy()
        let rng = VirtioRng(source: source)
        let harness = try VirtioMMIOHarness(device: rng)
        try harness.start()
        try harness.memory.fill(0xAA, at: Self.data, count: 0x100)
        try harness.descriptor(0, address: Self.data, length: 16, flags: DescriptorFlag.write | DescriptorFlag.next, next: 1)
        try harness.descriptor(1, address: Self.data + 0x80, length: 8, flags: DescriptorFlag.write)
        try harness.publish(0)
        harness.kick()
        #expect(harness.usedIndex == 1)
        #expect(try harness.usedElement(0) == (id: 0, length: 24))
        #expect(try harness.memory.readBytes(at: Self.data, count: 17) == Array(1...16) + [0xAA], "exactly the buffer")
        #expect(try harness.memory.readBytes(at: Self.data + 0x80, count: 9) == Array(17...24) + [0xAA])
        #expect(rng.counters == VirtioRng.Counters(requests: 1, bytes: 24))
        #expect(harness.errors.isEmpty)
        #expect(harness.acknowledgeInterrupt() & 1 == 1, "the used buffer was signalled")
    }

    @Test func aHugeRequestGetsTheBoundAndTheRestIsLeftAlone() throws {
        let rng = VirtioRng(source: CountingEntropy())
        let harness = try VirtioMMIOHarness(device: rng)
        try harness.start()
        let length = UInt32(VirtioRng.maxBytesPerRequest + 4096)
        try harness.memory.fill(0xAA, at: Self.data, count: Int(length))
        try harness.descriptor(0, address: Self.data, length: length, flags: DescriptorFlag.write)
        try harness.publish(0)
        harness.kick()
        #expect(try harness.usedElement(0).length == UInt32(VirtioRng.maxBytesPerRequest))
        let tail = try harness.memory.readBytes(at: Self.data + UInt64(VirtioRng.maxBytesPerRequest), count: 4096)
        #expect(tail.allSatisfy { $0 == 0xAA }, "bytes past the bound stay as the guest left them")
    }

    @Test func chainsThatAreNotRequestsComeBackEmptyAndTheDeviceGoesOn() throws {
        let rng = VirtioRng(source: CountingEntropy())
        let harness = try VirtioMMIOHarness(device: rng)
        try harness.start()
        try harness.memory.fill(0xAA, at: Self.data, count: 0x40)
        // A device-readable buffer in front: not an entropy request.
        try harness.descriptor(0, address: Self.data, length: 8, flags: DescriptorFlag.next, next: 1)
        try harness.descriptor(1, address: Self.data + 0x10, length: 8, flags: DescriptorFlag.write)
        // Writable but empty: no room for anything.
        try harness.descriptor(2, address: Self.data + 0x20, length: 0, flags: DescriptorFlag.write)
        // Then a good one.
        try harness.descriptor(3, address: Self.data + 0x30, length: 4, flags: DescriptorFlag.write)
        try harness.publish(0)
        try harness.publish(2)
        try harness.publish(3)
        harness.kick()
        #expect(harness.usedIndex == 3)
        #expect(try harness.usedElement(0) == (id: 0, length: 0))
        #expect(try harness.usedElement(1) == (id: 2, length: 0))
        #expect(try harness.usedElement(2) == (id: 3, length: 4))
        #expect(try harness.memory.readBytes(at: Self.data + 0x10, count: 8).allSatisfy { $0 == 0xAA }, "nothing written")
        #expect(rng.counters == VirtioRng.Counters(requests: 1, bytes: 4, malformedRequests: 2))
        #expect(harness.status & VirtioDeviceStatus.deviceNeedsReset == 0)
    }

    @Test func aFailingSourceReturnsTheBufferEmpty() throws {
        let source = CountingEntropy()
        source.failing.store(true, ordering: .relaxed)
        let rng = VirtioRng(source: source)
        let harness = try VirtioMMIOHarness(device: rng)
        try harness.start()
        try harness.descriptor(0, address: Self.data, length: 32, flags: DescriptorFlag.write)
        try harness.publish(0)
        harness.kick()
        #expect(try harness.usedElement(0) == (id: 0, length: 0))
        #expect(rng.counters.sourceFailures == 1)
    }

    @Test func worksOverPCIToo() throws {
        let harness = try VirtioHarness(device: VirtioRng(source: CountingEntropy()))
        try harness.start()
        try harness.descriptor(0, address: Self.data, length: 5, flags: DescriptorFlag.write)
        try harness.publish(0)
        try harness.kick()
        #expect(try harness.usedElement(0) == (id: 0, length: 5))
        #expect(try harness.memory.readBytes(at: Self.data, count: 5) == [1, 2, 3, 4, 5])
        #expect(harness.queueInterrupts == 1)
    }

    @Test func theHostSourceGivesDifferentBytesEachTime() throws {
        var first = [UInt8](repeating: 0, count: 600), second = [UInt8](repeating: 0, count: 600)
        try first.withUnsafeMutableBytes { try HostEntropy().fill($0) }
        try second.withUnsafeMutableBytes { try HostEntropy().fill($0) }
        #expect(first != second)
        #expect(Set(first).count > 100, "spans more than getentropy's 256-byte chunk with varied bytes")
    }

    @Test func snapshotStateRebuildsTheDevice() throws {
        let state = try JSONDecoder().decode(VirtioRng.State.self, from: JSONEncoder().encode(VirtioRng().saveState()))
        let rebuilt = try VirtioRng(restoring: state)
        #expect(rebuilt.deviceType == 4 && rebuilt.queueMaxSizes == [VirtioRng.queueSize])
    }
}
