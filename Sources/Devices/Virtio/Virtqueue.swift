import GuestMemory
import SwiftletCore
import Synchronization

/// The device side of a split virtqueue (virtio 1.x §2.7) over guest RAM.
///
/// Everything read from the rings is guest-controlled and re-checked on every use: indices
/// against the queue size, buffers against guest RAM, chain length against the queue size
/// (a longer chain can only be a loop). Construction checks the ring placement, so the ring
/// accesses themselves cannot fail unless the guest memory map changes.
///
/// Not thread-safe: the transport touches a queue only on its device's serial I/O queue.
public final class Virtqueue {
    /// The runtime part of a queue, for snapshots; placement comes from its configuration.
    public struct State: Codable, Sendable, Equatable {
        public var nextAvail: UInt16
        public var nextUsed: UInt16
        public var usedAtLastNotification: UInt16
    }

    private static let descriptorSize: UInt64 = 16
    private static let flagNext: UInt16 = 1
    private static let flagWrite: UInt16 = 2
    private static let flagIndirect: UInt16 = 4
    private static let availFlagNoInterrupt: UInt16 = 1

    public let index: Int
    public let size: UInt16
    public let eventIndex: Bool
    /// Only the chains this queue hands out reach guest RAM beyond the rings.
    private let memory: GuestMemory
    private let descriptorTable: GuestAddress
    private let availRing: GuestAddress
    private let usedRing: GuestAddress

    public private(set) var nextAvail: UInt16 = 0
    public private(set) var nextUsed: UInt16 = 0
    /// used.idx when the device last decided whether to interrupt (EVENT_IDX's "old").
    private var usedAtLastNotification: UInt16 = 0

    /// Validates `configuration` as hostile input.
    public init(index: Int, configuration: VirtqueueConfiguration, maxSize: UInt16, memory: GuestMemory, eventIndex: Bool) throws(VirtqueueError) {
        let size = configuration.size
        guard size != 0, size & (size - 1) == 0, size <= maxSize else { throw .invalidSize(size, maximum: maxSize) }
        let count = UInt64(size)
        let rings: [(String, UInt64, UInt64, UInt64)] = [
            ("descriptor table", configuration.descriptorTable, 16, Self.descriptorSize * count),
            ("avail ring", configuration.availRing, 2, 6 + 2 * count),
            ("used ring", configuration.usedRing, 4, 6 + 8 * count),
        ]
        for (name, address, alignment, length) in rings {
            guard address % alignment == 0 else { throw .misalignedRing(name, address: address) }
            guard memory.contains(GuestAddress(address), length: length) else { throw .ringOutsideMemory(name, address: address, length: length) }
        }
        self.index = index
        self.size = size
        self.memory = memory
        self.eventIndex = eventIndex
        descriptorTable = GuestAddress(configuration.descriptorTable)
        availRing = GuestAddress(configuration.availRing)
        usedRing = GuestAddress(configuration.usedRing)
    }

    // MARK: - Consuming requests

    /// The next available chain, or nil when the driver has posted nothing new.
    public func popChain() throws(VirtqueueError) -> DescriptorChain? {
        let availIndex = try read(UInt16.self, at: availRing, 2)
        let pending = availIndex &- nextAvail
        if pending == 0 { return nil }
        guard pending <= size else { throw .availIndexTooFarAhead(availIndex: availIndex, nextAvail: nextAvail, size: size) }
        // The ring entry and descriptors must not be read before the index that published them.
        atomicMemoryFence(ordering: .acquiring)
        let slot = UInt64(nextAvail % size)
        let head = try read(UInt16.self, at: availRing, 4 + 2 * slot)
        guard head < size else { throw .headOutOfRange(head, size: size) }

        var buffers: [GuestBuffer] = []
        var total: UInt64 = 0
        var current = head
        var sawWritable = false
        while true {
            guard buffers.count < Int(size) else { throw .loop }
            let entry = Self.descriptorSize * UInt64(current)
            let address = GuestAddress(try read(UInt64.self, at: descriptorTable, entry))
            let length = try read(UInt32.self, at: descriptorTable, entry + 8)
            let flags = try read(UInt16.self, at: descriptorTable, entry + 12)
            let next = try read(UInt16.self, at: descriptorTable, entry + 14)
            guard flags & Self.flagIndirect == 0 else { throw .indirectNotNegotiated }
            let writable = flags & Self.flagWrite != 0
            guard writable || !sawWritable else { throw .readableAfterWritable }
            sawWritable = sawWritable || writable
            guard let buffer = GuestBuffer.checked(address: address, length: length, deviceWritable: writable, in: memory) else {
                throw .bufferOutsideMemory(address: address.rawValue, length: length)
            }
            total += UInt64(length)
            guard total <= UInt64(UInt32.max) else { throw .lengthOverflow }
            buffers.append(buffer)
            guard flags & Self.flagNext != 0 else { break }
            guard next < size else { throw .nextOutOfRange(next, size: size) }
            current = next
        }
        nextAvail &+= 1
        return DescriptorChain(head: head, buffers: buffers, memory: memory)
    }

    /// Puts the last `count` popped chains back, unused, so the next pops return them again:
    /// a receiving device that found too little buffer space for a frame leaves the buffers
    /// for later. Only chains popped since the last `addUsed` of theirs may be put back.
    public func unpop(_ count: Int) {
        guard count > 0, count <= Int(size) else { return }
        nextAvail &-= UInt16(count)
    }

    /// Returns a chain to the driver with `length` bytes written into its buffers.
    public func addUsed(head: UInt16, length: UInt32) throws(VirtqueueError) {
        guard head < size else { throw .usedHeadOutOfRange(head) }
        let element = 4 + 8 * UInt64(nextUsed % size)
        try write(UInt32(head), at: usedRing, element)
        try write(length, at: usedRing, element + 4)
        nextUsed &+= 1
        // The driver may read the element as soon as it sees the new index.
        atomicMemoryFence(ordering: .releasing)
        try write(nextUsed, at: usedRing, 2)
    }

    // MARK: - Notification suppression

    /// Whether chains completed since the last call warrant an interrupt: used_event with
    /// EVENT_IDX, otherwise the avail ring's NO_INTERRUPT flag.
    public func needsInterrupt() throws(VirtqueueError) -> Bool {
        let old = usedAtLastNotification
        let new = nextUsed
        guard old != new else { return false }
        usedAtLastNotification = new
        // used.idx must be visible before we look at what the driver asked for.
        atomicMemoryFence(ordering: .sequentiallyConsistent)
        if eventIndex {
            let usedEvent = try read(UInt16.self, at: availRing, 4 + 2 * UInt64(size))
            return new &- usedEvent &- 1 < new &- old
        }
        return try read(UInt16.self, at: availRing, 0) & Self.availFlagNoInterrupt == 0
    }

    /// Re-arms driver notifications and reports whether posted chains are still unused; the
    /// driver will not notify for those, so a device that made progress should come back.
    ///
    /// With EVENT_IDX, avail_event becomes the driver's current avail.idx, so the driver
    /// notifies for the next chain it adds even while chains before it stay unused. A receive
    /// queue whose posted buffers are too small for the waiting frame needs exactly that
    /// notification: avail_event at next_avail, which the driver has already passed, would
    /// never be crossed again and the queue would stall. Writing it and reading avail.idx back
    /// until both agree closes the race with a driver adding a chain meanwhile: either we see
    /// its new index, or it sees our avail_event and notifies.
    public func rearmNotifications() throws(VirtqueueError) -> Bool {
        var posted = try read(UInt16.self, at: availRing, 2)
        if eventIndex {
            // Bounded: a driver that keeps posting gets its chains picked up by the next pass.
            for _ in 0..<Int(size) {
                try write(posted, at: usedRing, 4 + 8 * UInt64(size))
                atomicMemoryFence(ordering: .sequentiallyConsistent)
                let now = try read(UInt16.self, at: availRing, 2)
                if now == posted { break }
                posted = now
            }
        } else {
            atomicMemoryFence(ordering: .sequentiallyConsistent)
            posted = try read(UInt16.self, at: availRing, 2)
        }
        return posted != nextAvail
    }

    // MARK: - Snapshot

    public func saveState() -> State {
        State(nextAvail: nextAvail, nextUsed: nextUsed, usedAtLastNotification: usedAtLastNotification)
    }

    /// Any u16 values are acceptable: inconsistent ones surface as errors on the next pop.
    public func restoreState(_ state: State) {
        nextAvail = state.nextAvail
        nextUsed = state.nextUsed
        usedAtLastNotification = state.usedAtLastNotification
    }

    // MARK: - Memory access

    /// Reads the field `offset` bytes into a ring. Construction checked that every ring
    /// lies in guest RAM, so neither the sum nor the access can fail unless the map changes.
    private func read<T: FixedWidthInteger>(_ type: T.Type, at ring: GuestAddress, _ offset: UInt64) throws(VirtqueueError) -> T {
        guard let address = ring.adding(offset) else { throw .memory(.outOfBounds(address: ring, length: offset)) }
        do { return try memory.read(type, at: address) } catch { throw .memory(error) }
    }

    private func write<T: FixedWidthInteger>(_ value: T, at ring: GuestAddress, _ offset: UInt64) throws(VirtqueueError) {
        guard let address = ring.adding(offset) else { throw .memory(.outOfBounds(address: ring, length: offset)) }
        do { try memory.write(value, at: address) } catch { throw .memory(error) }
    }
}
