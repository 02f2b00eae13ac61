import SwiftletCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Guest RAM: a few host mappings, each covering one guest-physical range.
///
/// Every access names a guest-physical address and a length and is checked against the
/// regions before any host pointer is formed, so a hostile guest value (a descriptor
/// address, a ring size) can never reach outside the mappings.
///
/// - Note: `@unchecked Sendable` because the guest itself writes this memory concurrently
///   with every host thread; the class only hands out bounds-checked copies and never
///   changes its mappings after `init`.
public final class GuestMemory: @unchecked Sendable {
    public let regions: [MemoryRegion]

    /// Maps anonymous, zero-filled memory for each range.
    public convenience init(layout: [AddressRange]) throws(GuestMemoryError) {
        try self.init(layout: layout) { size in
            let pointer = mmap(nil, Int(size), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0)
            // Transparent huge pages: fewer TLB misses for the guest under KVM, and one fault per
            // 2 MiB instead of 512 when the VMM scans RAM for a snapshot. Only advice: a host
            // without THP simply ignores it.
            if let pointer, pointer != MAP_FAILED { _ = madvise(pointer, Int(size), MADV_HUGEPAGE) }
            return pointer
        }
    }

    /// Maps each range from `fd` at consecutive file offsets with `MAP_PRIVATE`, so that the
    /// file is read lazily on first touch and never written (snapshot restore).
    public convenience init(layout: [AddressRange], privateFile fd: Int32) throws(GuestMemoryError) {
        var fileOffset: UInt64 = 0
        try self.init(layout: layout) { size in
            defer { fileOffset += size }
            return mmap(nil, Int(size), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_NORESERVE, fd, off_t(fileOffset))
        }
    }

    private init(layout: [AddressRange], map: (UInt64) -> UnsafeMutableRawPointer?) throws(GuestMemoryError) {
        try Self.validate(layout)
        var mapped: [MemoryRegion] = []
        for range in layout {
            let pointer = map(range.length)
            guard let pointer, pointer != MAP_FAILED else {
                let error = SystemError.last("mmap")
                for region in mapped { munmap(region.hostPointer, Int(region.size)) }
                throw GuestMemoryError.mapFailed(size: range.length, error: error)
            }
            mapped.append(MemoryRegion(range: range, hostAddress: UInt(bitPattern: pointer)))
        }
        regions = mapped
    }

    deinit {
        for region in regions { munmap(region.hostPointer, Int(region.size)) }
    }

    private static func validate(_ layout: [AddressRange]) throws(GuestMemoryError) {
        guard !layout.isEmpty else { throw GuestMemoryError.invalidLayout("no regions") }
        for (index, range) in layout.enumerated() {
            guard range.length > 0, range.length % 4096 == 0, range.start % 4096 == 0 else {
                throw GuestMemoryError.invalidLayout("region \(index) is empty or not page aligned")
            }
            guard range.length <= UInt64(Int.max), range.end != nil else {
                throw GuestMemoryError.invalidLayout("region \(index) reaches the top of the address space")
            }
            guard index == 0 || range.start >= layout[index - 1].end! else {
                throw GuestMemoryError.invalidLayout("regions overlap or are not sorted")
            }
        }
    }

    /// Total bytes of RAM over all regions.
    public var totalSize: UInt64 { regions.reduce(0) { $0 + $1.size } }

    /// The guest-physical ranges of RAM, in order.
    public var layout: [AddressRange] { regions.map(\.range) }

    /// Whether `[address, address+length)` lies inside one region.
    public func contains(_ address: GuestAddress, length: UInt64) -> Bool {
        regions.contains { $0.range.contains(address.rawValue, count: length) }
    }

    /// A host pointer to `length` bytes at `address`, valid while `self` lives.
    /// Throws unless the whole range is inside one region.
    public func hostPointer(at address: GuestAddress, length: UInt64) throws(GuestMemoryError) -> UnsafeMutableRawPointer {
        for region in regions {
            if let offset = region.range.offset(of: address.rawValue, count: length) { return region.hostPointer + Int(offset) }
        }
        throw GuestMemoryError.outOfBounds(address: address, length: length)
    }

    /// A buffer over `length` guest bytes at `address`, for bulk copies such as disk I/O.
    public func buffer(at address: GuestAddress, length: UInt64) throws(GuestMemoryError) -> UnsafeMutableRawBufferPointer {
        UnsafeMutableRawBufferPointer(start: try hostPointer(at: address, length: length), count: Int(length))
    }

    // MARK: - Typed access (little-endian, unaligned allowed)

    public func read<T: FixedWidthInteger>(_ type: T.Type = T.self, at address: GuestAddress) throws(GuestMemoryError) -> T {
        let pointer = try hostPointer(at: address, length: UInt64(MemoryLayout<T>.size))
        return T(littleEndian: pointer.loadUnaligned(as: T.self))
    }

    public func write<T: FixedWidthInteger>(_ value: T, at address: GuestAddress) throws(GuestMemoryError) {
        let pointer = try hostPointer(at: address, length: UInt64(MemoryLayout<T>.size))
        pointer.storeBytes(of: value.littleEndian, as: T.self)
    }

    public func readBytes(at address: GuestAddress, count: Int) throws(GuestMemoryError) -> [UInt8] {
        let pointer = try hostPointer(at: address, length: UInt64(count))
        return Array(UnsafeRawBufferPointer(start: pointer, count: count))
    }

    public func write<Bytes: Collection>(bytes: Bytes, at address: GuestAddress) throws(GuestMemoryError) where Bytes.Element == UInt8 {
        let pointer = try hostPointer(at: address, length: UInt64(bytes.count))
        UnsafeMutableRawBufferPointer(start: pointer, count: bytes.count).copyBytes(from: bytes)
    }

    /// Fills `[address, address+count)` with `byte`.
    public func fill(_ byte: UInt8, at address: GuestAddress, count: Int) throws(GuestMemoryError) {
        let pointer = try hostPointer(at: address, length: UInt64(count))
        memset(pointer, Int32(byte), count)
    }
}
