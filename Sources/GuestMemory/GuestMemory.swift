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
    private let ownsMappings: Bool

    /// Maps anonymous, zero-filled memory for each `(guestBase, size)` range.
    public convenience init(layout: [(base: UInt64, size: UInt64)]) throws {
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
    public convenience init(layout: [(base: UInt64, size: UInt64)], privateFile fd: Int32) throws {
        var fileOffset: UInt64 = 0
        try self.init(layout: layout) { size in
            defer { fileOffset += size }
            return mmap(nil, Int(size), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_NORESERVE, fd, off_t(fileOffset))
        }
    }

    private init(layout: [(base: UInt64, size: UInt64)], map: (UInt64) -> UnsafeMutableRawPointer?) throws {
        try Self.validate(layout)
        var mapped: [MemoryRegion] = []
        for range in layout {
            let pointer = map(range.size)
            guard let pointer, pointer != MAP_FAILED else {
                let error = errno
                for region in mapped { munmap(region.hostPointer, Int(region.size)) }
                throw GuestMemoryError.mapFailed(size: range.size, errno: error)
            }
            mapped.append(MemoryRegion(guestBase: range.base, size: range.size, hostAddress: UInt(bitPattern: pointer)))
        }
        regions = mapped
        ownsMappings = true
    }

    deinit {
        if ownsMappings {
            for region in regions { munmap(region.hostPointer, Int(region.size)) }
        }
    }

    private static func validate(_ layout: [(base: UInt64, size: UInt64)]) throws {
        guard !layout.isEmpty else { throw GuestMemoryError.invalidLayout("no regions") }
        var previousEnd: UInt64 = 0
        for (index, range) in layout.enumerated() {
            guard range.size > 0, range.size % 4096 == 0, range.base % 4096 == 0 else {
                throw GuestMemoryError.invalidLayout("region \(index) is empty or not page aligned")
            }
            guard range.base.addingReportingOverflow(range.size).overflow == false else {
                throw GuestMemoryError.invalidLayout("region \(index) wraps around")
            }
            guard index == 0 || range.base >= previousEnd else {
                throw GuestMemoryError.invalidLayout("regions overlap or are not sorted")
            }
            previousEnd = range.base + range.size
        }
    }

    /// Total bytes of RAM over all regions.
    public var totalSize: UInt64 { regions.reduce(0) { $0 + $1.size } }

    /// Whether `[address, address+length)` lies inside one region.
    public func contains(_ address: UInt64, length: UInt64) -> Bool {
        region(containing: address, length: length) != nil
    }

    private func region(containing address: UInt64, length: UInt64) -> MemoryRegion? {
        regions.first { $0.contains(address, length: length) }
    }

    /// A host pointer to `length` bytes at `address`, valid while `self` lives.
    /// Throws unless the whole range is inside one region.
    public func hostPointer(at address: UInt64, length: UInt64) throws -> UnsafeMutableRawPointer {
        guard let region = region(containing: address, length: length) else {
            throw GuestMemoryError.outOfBounds(address: address, length: length)
        }
        return region.hostPointer + Int(address - region.guestBase)
    }

    /// A buffer over `length` guest bytes at `address`, for bulk copies such as disk I/O.
    public func buffer(at address: UInt64, length: UInt64) throws -> UnsafeMutableRawBufferPointer {
        UnsafeMutableRawBufferPointer(start: try hostPointer(at: address, length: length), count: Int(length))
    }

    // MARK: - Typed access (little-endian, unaligned allowed)

    public func read<T: FixedWidthInteger>(_ type: T.Type = T.self, at address: UInt64) throws -> T {
        let pointer = try hostPointer(at: address, length: UInt64(MemoryLayout<T>.size))
        return T(littleEndian: pointer.loadUnaligned(as: T.self))
    }

    public func write<T: FixedWidthInteger>(_ value: T, at address: UInt64) throws {
        let pointer = try hostPointer(at: address, length: UInt64(MemoryLayout<T>.size))
        pointer.storeBytes(of: value.littleEndian, as: T.self)
    }

    public func readBytes(at address: UInt64, count: Int) throws -> [UInt8] {
        let pointer = try hostPointer(at: address, length: UInt64(count))
        return Array(UnsafeRawBufferPointer(start: pointer, count: count))
    }

    public func write<Bytes: Collection>(bytes: Bytes, at address: UInt64) throws where Bytes.Element == UInt8 {
        let pointer = try hostPointer(at: address, length: UInt64(bytes.count))
        let destination = UnsafeMutableRawBufferPointer(start: pointer, count: bytes.count)
        destination.copyBytes(from: bytes)
    }

    /// Fills `[address, address+count)` with `byte`.
    public func fill(_ byte: UInt8, at address: UInt64, count: Int) throws {
        let pointer = try hostPointer(at: address, length: UInt64(count))
        memset(pointer, Int32(byte), count)
    }
}
