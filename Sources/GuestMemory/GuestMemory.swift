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
    /// One bitmap per region of the pages the VMM wrote (diff snapshots), or nil when dirty
    /// pages are not tracked. Every write path and every mutable buffer handed out marks it.
    public let dirtyPages: [DirtyPageBitmap]?

    /// Maps anonymous, zero-filled memory for each range. With `trackDirtyPages`, the VMM's
    /// own writes are recorded in `dirtyPages`.
    public convenience init(layout: [AddressRange], trackDirtyPages: Bool = false) throws(GuestMemoryError) {
        try self.init(layout: layout, trackDirtyPages: trackDirtyPages) { size in
            let pointer = mmap(nil, Int(size), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0)
            // Transparent huge pages: fewer TLB misses for the guest under KVM, and one fault per
            // 2 MiB instead of 512 when the VMM scans RAM for a snapshot. Only advice: a host
            // without THP simply ignores it.
            if let pointer, pointer != MAP_FAILED { _ = madvise(pointer, Int(size), MADV_HUGEPAGE) }
            return pointer
        }
    }

    /// Maps each range from `fd` at consecutive file offsets with `MAP_PRIVATE`, so that the
    /// file is read lazily on first touch and never written (snapshot restore). With
    /// `trackDirtyPages`, the VMM's writes from then on are recorded, as for fresh memory.
    public convenience init(layout: [AddressRange], privateFile fd: Int32, trackDirtyPages: Bool = false) throws(GuestMemoryError) {
        var fileOffset: UInt64 = 0
        try self.init(layout: layout, trackDirtyPages: trackDirtyPages) { size in
            defer { fileOffset += size }
            return mmap(nil, Int(size), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_NORESERVE, fd, off_t(fileOffset))
        }
    }

    private init(layout: [AddressRange], trackDirtyPages: Bool, map: (UInt64) -> UnsafeMutableRawPointer?) throws(GuestMemoryError) {
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
        dirtyPages = trackDirtyPages ? mapped.map { DirtyPageBitmap(pageCount: Int($0.size / DirtyPageBitmap.pageSize)) } : nil
    }

    /// Whether the VMM's writes to guest RAM are being recorded.
    public var tracksDirtyPages: Bool { dirtyPages != nil }

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
    /// Throws unless the whole range is inside one region. The pointer may be written
    /// through, so the range counts as dirty when dirty pages are tracked.
    public func hostPointer(at address: GuestAddress, length: UInt64) throws(GuestMemoryError) -> UnsafeMutableRawPointer {
        try locate(address, length: length, forWriting: true)
    }

    /// A buffer over `length` guest bytes at `address`, for bulk copies such as disk I/O.
    /// Marked dirty like `hostPointer`: the caller may fill it.
    public func buffer(at address: GuestAddress, length: UInt64) throws(GuestMemoryError) -> UnsafeMutableRawBufferPointer {
        UnsafeMutableRawBufferPointer(start: try hostPointer(at: address, length: length), count: Int(length))
    }

    /// A read-only buffer over `length` guest bytes at `address` (not marked dirty).
    public func readOnlyBuffer(at address: GuestAddress, length: UInt64) throws(GuestMemoryError) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: try locate(address, length: length, forWriting: false), count: Int(length))
    }

    /// Marks `[address, address+length)` dirty, for a write made through a pointer obtained
    /// earlier. Does nothing outside RAM or when dirty pages are not tracked.
    public func markDirty(_ address: GuestAddress, length: UInt64) {
        guard let dirtyPages else { return }
        for (index, region) in regions.enumerated() {
            if let offset = region.range.offset(of: address.rawValue, count: length) {
                dirtyPages[index].mark(offset: offset, length: length)
                return
            }
        }
    }

    private func locate(_ address: GuestAddress, length: UInt64, forWriting: Bool) throws(GuestMemoryError) -> UnsafeMutableRawPointer {
        for (index, region) in regions.enumerated() {
            if let offset = region.range.offset(of: address.rawValue, count: length) {
                if forWriting, let dirtyPages { dirtyPages[index].mark(offset: offset, length: length) }
                return region.hostPointer + Int(offset)
            }
        }
        throw GuestMemoryError.outOfBounds(address: address, length: length)
    }

    // MARK: - Typed access (little-endian, unaligned allowed)

    public func read<T: FixedWidthInteger>(_ type: T.Type = T.self, at address: GuestAddress) throws(GuestMemoryError) -> T {
        let pointer = try locate(address, length: UInt64(MemoryLayout<T>.size), forWriting: false)
        return T(littleEndian: pointer.loadUnaligned(as: T.self))
    }

    public func write<T: FixedWidthInteger>(_ value: T, at address: GuestAddress) throws(GuestMemoryError) {
        let pointer = try hostPointer(at: address, length: UInt64(MemoryLayout<T>.size))
        pointer.storeBytes(of: value.littleEndian, as: T.self)
    }

    public func readBytes(at address: GuestAddress, count: Int) throws(GuestMemoryError) -> [UInt8] {
        let pointer = try locate(address, length: UInt64(count), forWriting: false)
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
