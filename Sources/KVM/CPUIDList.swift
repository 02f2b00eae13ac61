import CKVM

/// An owned `struct kvm_cpuid2` with room for `capacity` entries: the C struct ends in a
/// flexible array, so Swift cannot declare it by value.
final class CPUIDList {
    let raw: UnsafeMutableRawPointer
    let capacity: Int

    init(capacity: Int) {
        self.capacity = capacity
        let byteCount = MemoryLayout<kvm_cpuid2>.size + capacity * MemoryLayout<kvm_cpuid_entry2>.stride
        raw = UnsafeMutableRawPointer.allocate(byteCount: byteCount, alignment: 8)
        raw.initializeMemory(as: UInt8.self, repeating: 0, count: byteCount)
        raw.assumingMemoryBound(to: kvm_cpuid2.self).pointee.nent = UInt32(capacity)
    }

    convenience init(entries: [kvm_cpuid_entry2]) {
        self.init(capacity: entries.count)
        let base = (raw + MemoryLayout<kvm_cpuid2>.size).assumingMemoryBound(to: kvm_cpuid_entry2.self)
        for (index, entry) in entries.enumerated() { base[index] = entry }
    }

    deinit { raw.deallocate() }

    var entries: [kvm_cpuid_entry2] {
        let count = min(Int(raw.assumingMemoryBound(to: kvm_cpuid2.self).pointee.nent), capacity)
        let base = (raw + MemoryLayout<kvm_cpuid2>.size).assumingMemoryBound(to: kvm_cpuid_entry2.self)
        return Array(UnsafeBufferPointer(start: base, count: count))
    }
}
