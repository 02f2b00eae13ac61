/// The one little-endian codec for registers and structures (x86, PCI, virtio, ACPI and
/// Swiftlet's own files are all little-endian).
///
/// Loads return nil and stores return false when the field does not fit, instead of
/// trapping: offsets are often guest-controlled.
extension UnsafeRawBufferPointer {
    /// The integer stored little-endian at `offset`, or nil if it does not fit.
    public func loadLittleEndian<T: FixedWidthInteger>(_: T.Type = T.self, at offset: Int) -> T? {
        guard offset >= 0, offset <= count, MemoryLayout<T>.size <= count - offset, let base = baseAddress else { return nil }
        return T(littleEndian: base.loadUnaligned(fromByteOffset: offset, as: T.self))
    }

    /// A register access value: the 1 to 8 bytes of the access, little-endian and zero-extended.
    public var littleEndianValue: UInt64 {
        var value: UInt64 = 0
        for (index, byte) in prefix(8).enumerated() { value |= UInt64(byte) << (8 * UInt64(index)) }
        return value
    }
}

extension UnsafeMutableRawBufferPointer {
    /// Stores `value` little-endian at `offset`; false (and nothing written) if it does not fit.
    @discardableResult
    public func storeLittleEndian<T: FixedWidthInteger>(_ value: T, at offset: Int) -> Bool {
        guard offset >= 0, offset <= count, MemoryLayout<T>.size <= count - offset, let base = baseAddress else { return false }
        base.storeBytes(of: value.littleEndian, toByteOffset: offset, as: T.self)
        return true
    }

    /// Answers a register read: the low `count` bytes (at most 8) of `value`, little-endian.
    public func storeLittleEndian(_ value: UInt64) {
        for index in 0..<Swift.min(count, 8) { self[index] = UInt8(truncatingIfNeeded: value >> (8 * UInt64(index))) }
    }

    /// All ones: what an unclaimed bus address or an absent register reads as.
    public func fillWithOnes() {
        guard let base = baseAddress else { return }
        base.initializeMemory(as: UInt8.self, repeating: 0xFF, count: count)
    }

    /// All zeros: a reserved register.
    public func fillWithZeros() {
        guard let base = baseAddress else { return }
        base.initializeMemory(as: UInt8.self, repeating: 0, count: count)
    }
}

extension Array where Element == UInt8 {
    /// The integer stored little-endian at `offset`, or nil if it does not fit.
    public func loadLittleEndian<T: FixedWidthInteger>(_: T.Type = T.self, at offset: Int) -> T? {
        withUnsafeBytes { $0.loadLittleEndian(T.self, at: offset) }
    }

    /// Overwrites the field at `offset`; false (and nothing written) if it does not fit.
    @discardableResult
    public mutating func storeLittleEndian<T: FixedWidthInteger>(_ value: T, at offset: Int) -> Bool {
        withUnsafeMutableBytes { $0.storeLittleEndian(value, at: offset) }
    }

    public mutating func appendLittleEndian<T: FixedWidthInteger>(_ value: T) {
        Swift.withUnsafeBytes(of: value.littleEndian) { append(contentsOf: $0) }
    }

    /// The bytes of `value`, little-endian.
    public static func littleEndian<T: FixedWidthInteger>(_ value: T) -> [UInt8] {
        Swift.withUnsafeBytes(of: value.littleEndian) { Array($0) }
    }
}

extension ArraySlice where Element == UInt8 {
    /// The integer stored little-endian `offset` bytes into the slice, or nil if it does not fit.
    public func loadLittleEndian<T: FixedWidthInteger>(_: T.Type = T.self, at offset: Int) -> T? {
        withUnsafeBytes { $0.loadLittleEndian(T.self, at: offset) }
    }
}
