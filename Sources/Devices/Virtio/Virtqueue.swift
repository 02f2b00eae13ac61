import GuestMemory
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
    public let memory: GuestMemory
    public let eventIndex: Bool
    private let descriptorTable: UInt64
    private let availRing: UInt64
    private let usedRing: UInt64

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
            guard memory.contains(address, length: length) else { throw .ringOutsideMemory(name, address: address, length: length) }
        }
        self.index = index
        self.size = size
        self.memory = memory
        self.eventIndex = eventIndex
        descriptorTable = configuration.descriptorTable
        availRing = configuration.availRing
        usedRing = configuration.usedRing
    }

    // MARK: - Consuming requests

    /// The next available chain, or nil when the driver has posted nothing new.
    public func popChain() throws(VirtqueueError) -> DescriptorChain? {
        let availIndex = try read(UInt16.self, at: availRing + 2)
        let pending = availIndex &- nextAvail
        if pending == 0 { return nil }
        guard pending <= size else { throw .availIndexTooFarAhead(availIndex: availIndex, nextAvail: nextAvail, size: size) }
        // The ring entry and descriptors must not be read before the index that published them.
        atomicMemoryFence(ordering: .acquiring)
        let slot = UInt64(nextAvail % size)
        let head = try read(UInt16.self, at: availRing + 4 + 2 * slot)
        guard head < size else { throw .headOutOfRange(head, size: size) }

        var buffers: [GuestBuffer] = []
        var total: UInt64 = 0
        var current = head
        var sawWritable = false
        while true {
            guard buffers.count < Int(size) else { throw .loop }
            let entry = descriptorTable + Self.descriptorSize * UInt64(current)
            let address = try read(UInt64.self, at: entry)
            let length = try read(UInt32.self, at: entry + 8)
            let flags = try read(UInt16.self, at: entry + 12)
            let next = try read(UInt16.self, at: entry + 14)
            guard flags & Self.flagIndirect == 0 else { throw .indirectNotNegotiated }
            let writable = flags & Self.flagWrite != 0
            guard writable || !sawWritable else { throw .readableAfterWritable }
            sawWritable = sawWritable || writable
            guard memory.contains(address, length: UInt64(length)) else { throw .bufferOutsideMemory(address: address, length: length) }
            total += UInt64(length)
            guard total <= UInt64(UInt32.max) else { throw .lengthOverflow }
            buffers.append(GuestBuffer(address: address, length: length, deviceWritable: writable))
            guard flags & Self.flagNext != 0 else { break }
            guard next < size else { throw .nextOutOfRange(next, size: size) }
            current = next
        }
        nextAvail &+= 1
        return DescriptorChain(head: head, buffers: buffers)
    }

    /// Returns a chain to the driver with `length` bytes written into its buffers.
    public func addUsed(head: UInt16, length: UInt32) throws(VirtqueueError) {
        guard head < size else { throw .usedHeadOutOfRange(head) }
        let element = usedRing + 4 + 8 * UInt64(nextUsed % size)
        try write(UInt32(head), at: element)
        try write(length, at: element + 4)
        nextUsed &+= 1
        // The driver may read the element as soon as it sees the new index.
        atomicMemoryFence(ordering: .releasing)
        try write(nextUsed, at: usedRing + 2)
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
            let usedEvent = try read(UInt16.self, at: availRing + 4 + 2 * UInt64(size))
            return new &- usedEvent &- 1 < new &- old
        }
        return try read(UInt16.self, at: availRing) & Self.availFlagNoInterrupt == 0
    }

    /// Re-arms driver notifications (avail_event = next_avail with EVENT_IDX) and reports
    /// whether chains arrived meanwhile, which the driver would then not have notified.
    public func rearmNotifications() throws(VirtqueueError) -> Bool {
        if eventIndex { try write(nextAvail, at: usedRing + 4 + 8 * UInt64(size)) }
        atomicMemoryFence(ordering: .sequentiallyConsistent)
        return try read(UInt16.self, at: availRing + 2) != nextAvail
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

    private func read<T: FixedWidthInteger>(_ type: T.Type, at address: UInt64) throws(VirtqueueError) -> T {
        do { return try memory.read(type, at: address) } catch { throw .memory(error) }
    }

    private func write<T: FixedWidthInteger>(_ value: T, at address: UInt64) throws(VirtqueueError) {
        do { try memory.write(value, at: address) } catch { throw .memory(error) }
    }
}
