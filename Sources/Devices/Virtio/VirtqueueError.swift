import GuestMemory

/// Why a queue or a descriptor chain was refused. The description is what the VMM logs after
/// the device name, e.g. "virtio-blk: rejected descriptor chain: loop".
public enum VirtqueueError: Error, Equatable, Sendable, CustomStringConvertible {
    case invalidSize(UInt16, maximum: UInt16)
    case misalignedRing(String, address: UInt64)
    case ringOutsideMemory(String, address: UInt64, length: UInt64)
    case availIndexTooFarAhead(availIndex: UInt16, nextAvail: UInt16, size: UInt16)
    case headOutOfRange(UInt16, size: UInt16)
    case nextOutOfRange(UInt16, size: UInt16)
    case loop
    case bufferOutsideMemory(address: UInt64, length: UInt32)
    case lengthOverflow
    case readableAfterWritable
    case indirectNotNegotiated
    case usedHeadOutOfRange(UInt16)
    case writeToReadableBuffer
    case bufferTooShort(needed: Int, length: UInt32)
    case memory(GuestMemoryError)

    public var description: String {
        switch self {
        case .invalidSize(let size, let maximum): return "invalid queue: size \(size) is not a power of two in 1...\(maximum)"
        case .misalignedRing(let ring, let address): return "invalid queue: \(ring) at 0x\(hex(address)) is misaligned"
        case .ringOutsideMemory(let ring, let address, let length):
            return "invalid queue: \(ring) at 0x\(hex(address))+\(length) is outside guest RAM"
        case .availIndexTooFarAhead(let availIndex, let nextAvail, let size):
            return "invalid avail ring: idx \(availIndex) is \(availIndex &- nextAvail) ahead of \(nextAvail) (queue size \(size))"
        case .headOutOfRange(let head, let size): return "rejected descriptor chain: head \(head) out of range (queue size \(size))"
        case .nextOutOfRange(let next, let size): return "rejected descriptor chain: next \(next) out of range (queue size \(size))"
        case .loop: return "rejected descriptor chain: loop"
        case .bufferOutsideMemory(let address, let length):
            return "rejected descriptor chain: buffer 0x\(hex(address))+\(length) is outside guest RAM"
        case .lengthOverflow: return "rejected descriptor chain: total length exceeds 4 GiB"
        case .readableAfterWritable: return "rejected descriptor chain: device-readable buffer after a device-writable one"
        case .indirectNotNegotiated: return "rejected descriptor chain: indirect descriptor without VIRTIO_F_INDIRECT_DESC"
        case .usedHeadOutOfRange(let head): return "device bug: used head \(head) out of range"
        case .writeToReadableBuffer: return "device bug: write to a device-readable buffer"
        case .bufferTooShort(let needed, let length): return "device bug: \(needed)-byte write to a \(length)-byte buffer"
        case .memory(let error): return "invalid queue: \(error)"
        }
    }

    private func hex(_ value: UInt64) -> String { String(value, radix: 16) }
}
