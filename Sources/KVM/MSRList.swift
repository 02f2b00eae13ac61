import CKVM

/// An owned `struct kvm_msrs` (a header followed by a flexible array of entries).
final class MSRList {
    let raw: UnsafeMutableRawPointer
    let count: Int

    init(entries: [(index: UInt32, value: UInt64)]) {
        count = entries.count
        let byteCount = MemoryLayout<kvm_msrs>.size + max(1, count) * MemoryLayout<kvm_msr_entry>.stride
        raw = UnsafeMutableRawPointer.allocate(byteCount: byteCount, alignment: 8)
        raw.initializeMemory(as: UInt8.self, repeating: 0, count: byteCount)
        raw.assumingMemoryBound(to: kvm_msrs.self).pointee.nmsrs = UInt32(count)
        let base = (raw + MemoryLayout<kvm_msrs>.size).assumingMemoryBound(to: kvm_msr_entry.self)
        for (offset, entry) in entries.enumerated() {
            base[offset].index = entry.index
            base[offset].data = entry.value
        }
    }

    deinit { raw.deallocate() }

    var entries: [(index: UInt32, value: UInt64)] {
        let base = (raw + MemoryLayout<kvm_msrs>.size).assumingMemoryBound(to: kvm_msr_entry.self)
        return (0..<count).map { (base[$0].index, base[$0].data) }
    }
}
