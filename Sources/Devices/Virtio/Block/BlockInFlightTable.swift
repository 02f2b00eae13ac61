#if canImport(Glibc)
import Glibc
#endif

/// The block device's requests that an I/O engine is working on, one slot per queue and head:
/// a driver may not make a head available again before the device has used it, so a head
/// names one request at a time, and the table never holds more than the queues do.
///
/// Each slot keeps what its request needs once the engine is done (the chain, which also keeps
/// guest RAM mapped, and the open image, which may have been swapped meanwhile) and its own
/// iovec array, grown on demand and kept, so a busy disk allocates no vectors per request.
/// It is touched under the queues' lock only (the worker's passes, and the engine's thread
/// answering completions), or while nothing is in flight (a reset or restore, after the
/// engine was waited for).
final class BlockInFlightTable: @unchecked Sendable {
    struct Request {
        var chain: DescriptorChain
        var request: BlockRequest
        var operation: BlockIOOperation
        /// Bytes the operation must move (0 for a flush).
        var expectedBytes: UInt64
        var file: BlockBackingFile
    }

    private struct Slot {
        var request: Request?
        var vectors: UnsafeMutablePointer<iovec>?
        var capacity = 0
    }

    /// Bumped by `clear`: completions of requests from before are recognised and dropped.
    private(set) var epoch: UInt32 = 0
    private var slots: [[Slot]]

    init(queueSizes: [UInt16]) {
        slots = queueSizes.map { Array(repeating: Slot(), count: Int($0)) }
    }

    deinit {
        for queue in slots { for slot in queue { slot.vectors?.deallocate() } }
    }

    /// The token an engine carries for the request at `head` of `queue` in this epoch. No
    /// token has every bit set (queue indices stay far below 0xFFFF).
    func token(queue: Int, head: UInt16) -> UInt64 {
        UInt64(epoch) << 32 | UInt64(queue) << 16 | UInt64(head)
    }

    func isBusy(queue: Int, head: UInt16) -> Bool {
        slots[queue][Int(head)].request != nil
    }

    /// An iovec array of at least `count` entries for the slot, kept until the slot's next use.
    func vectors(queue: Int, head: UInt16, count: Int) -> UnsafeMutablePointer<iovec> {
        let index = Int(head)
        if slots[queue][index].capacity < count {
            slots[queue][index].vectors?.deallocate()
            let capacity = max(count, 16)
            slots[queue][index].vectors = .allocate(capacity: capacity)
            slots[queue][index].capacity = capacity
        }
        return slots[queue][index].vectors!
    }

    func insert(_ request: Request, queue: Int) {
        slots[queue][Int(request.chain.head)].request = request
    }

    /// Takes the request `token` names, or nil for a token from an earlier epoch or an unknown slot.
    func take(token: UInt64) -> (queue: Int, request: Request)? {
        guard UInt32(truncatingIfNeeded: token >> 32) == epoch else { return nil }
        let queue = Int(truncatingIfNeeded: (token >> 16) & 0xFFFF)
        let head = Int(truncatingIfNeeded: token & 0xFFFF)
        guard queue < slots.count, head < slots[queue].count, let request = slots[queue][head].request else { return nil }
        slots[queue][head].request = nil
        return (queue, request)
    }

    /// Forgets every request (their I/O has finished; the device was reset or restored).
    func clear() {
        epoch &+= 1
        for queue in slots.indices { for head in slots[queue].indices { slots[queue][head].request = nil } }
    }
}
