/// Little-endian, bounds-checked reads from an image file held in memory.
///
/// Every read returns nil instead of trapping when the range leaves the file, so a parser
/// can turn a short file into a `KernelImageError.truncated` naming what was cut.
struct ImageBytes {
    let bytes: [UInt8]

    var count: UInt64 { UInt64(bytes.count) }

    /// Whether `[offset, offset+length)` is inside the file, without overflow.
    func contains(offset: UInt64, length: UInt64) -> Bool {
        offset <= count && length <= count - offset
    }

    func read<T: FixedWidthInteger & UnsignedInteger>(_ type: T.Type, at offset: UInt64) -> T? {
        let size = UInt64(MemoryLayout<T>.size)
        guard contains(offset: offset, length: size) else { return nil }
        let start = Int(offset)
        var value: T = 0
        for index in 0..<Int(size) {
            value |= T(bytes[start + index]) << (8 * index)
        }
        return value
    }

    func slice(offset: UInt64, length: UInt64) -> ArraySlice<UInt8>? {
        guard contains(offset: offset, length: length) else { return nil }
        return bytes[Int(offset)..<Int(offset + length)]
    }
}
