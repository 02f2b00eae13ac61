import SwiftletCore

/// DISCARD and WRITE_ZEROES (virtio 1.x §5.2.6.2): the guest names sector ranges it no longer
/// needs, or wants read back as zeros. Both become `fallocate` on the image, so a thin image
/// stays thin when the guest's filesystem frees blocks (`fstrim`, `mount -o discard`).
extension VirtioBlock {
    public static let featureDiscard: UInt64 = 1 << 13
    public static let featureWriteZeroes: UInt64 = 1 << 14

    /// Ranges per request, and sectors per range (1 GiB): Linux splits larger ones.
    static let maxEraseSegments: UInt32 = 16
    static let maxEraseSectors: UInt32 = 1 << 21
    /// Discards are rounded to 4 KiB by the guest, the host filesystem's block size.
    static let discardAlignmentSectors: UInt32 = 8

    /// `struct virtio_blk_discard_write_zeroes`: sector (u64), num_sectors (u32), flags (u32).
    private static let segmentSize: UInt64 = 16
    private static let flagUnmap: UInt32 = 1

    /// max_discard_sectors, max_discard_seg, discard_sector_alignment, max_write_zeroes_sectors,
    /// max_write_zeroes_seg and write_zeroes_may_unmap.
    static func storeEraseLimits(in config: inout [UInt8]) {
        config.storeLittleEndian(maxEraseSectors, at: 36)
        config.storeLittleEndian(maxEraseSegments, at: 40)
        config.storeLittleEndian(discardAlignmentSectors, at: 44)
        config.storeLittleEndian(maxEraseSectors, at: 48)
        config.storeLittleEndian(maxEraseSegments, at: 52)
        config[56] = 1
    }

    /// Checks every range before touching the image, so a bad request changes nothing.
    func erase(_ request: BlockRequest, chain: DescriptorChain, file: BlockBackingFile) -> Status {
        let length = BlockRequest.total(request.readableData)
        guard length > 0, length % Self.segmentSize == 0, length / Self.segmentSize <= UInt64(Self.maxEraseSegments),
            let bytes = try? chain.readBytes(of: request.readableData)
        else { return .ioError }
        let discard = request.type == BlockRequest.Kind.discard.rawValue
        let diskBytes = (file.sizeInBytes / Self.sectorSize) * Self.sectorSize
        var ranges: [(offset: UInt64, length: UInt64, unmap: Bool)] = []
        for start in stride(from: 0, to: bytes.count, by: Int(Self.segmentSize)) {
            guard let sector = bytes.loadLittleEndian(UInt64.self, at: start), let count = bytes.loadLittleEndian(UInt32.self, at: start + 8),
                let flags = bytes.loadLittleEndian(UInt32.self, at: start + 12)
            else { return .ioError }
            // The spec's answer to an unmap flag on a discard, or a flag it does not define.
            guard flags & ~Self.flagUnmap == 0, !(discard && flags != 0) else { return .unsupported }
            guard count <= Self.maxEraseSectors else { return .ioError }
            let (offset, overflow) = sector.multipliedReportingOverflow(by: Self.sectorSize)
            let rangeLength = UInt64(count) * Self.sectorSize
            guard !overflow, let disk = AddressRange(start: 0, length: diskBytes), disk.contains(offset, count: rangeLength) else { return .ioError }
            ranges.append((offset, rangeLength, flags & Self.flagUnmap != 0))
        }
        for range in ranges where range.length > 0 {
            if discard {
                // A hint: a host that cannot punch holes just keeps the data.
                _ = file.punchHole(at: range.offset, length: range.length)
            } else if !(range.unmap && file.punchHole(at: range.offset, length: range.length)) {
                guard file.zero(at: range.offset, length: range.length) else { return .ioError }
            }
        }
        return .ok
    }
}
