import SwiftletCore

/// Little-endian, bounds-checked reads from an image file held in memory.
///
/// Every read returns nil instead of trapping when the range leaves the file, so a parser
/// can turn a short file into a `KernelImageError.truncated` naming what was cut.
struct ImageBytes {
    let bytes: [UInt8]

    var count: UInt64 { UInt64(bytes.count) }

    /// The file's offsets, `[0, count)`.
    private var extent: AddressRange { AddressRange(start: 0, length: count)! }

    /// Whether `[offset, offset+length)` is inside the file, without overflow.
    func contains(offset: UInt64, length: UInt64) -> Bool {
        extent.contains(offset, count: length)
    }

    func read<T: FixedWidthInteger & UnsignedInteger>(_ type: T.Type, at offset: UInt64) -> T? {
        guard let start = Int(exactly: offset) else { return nil }
        return bytes.loadLittleEndian(T.self, at: start)
    }

    func slice(offset: UInt64, length: UInt64) -> ArraySlice<UInt8>? {
        guard let range = extent.subrange(offset: offset, count: length) else { return nil }
        return bytes[Int(range.start)..<Int(range.start + range.length)]
    }
}
