/// CRC-64/XZ (a.k.a. CRC-64/GO-ECMA): the ECMA-182 polynomial 0x42F0E1EBA9EA3693, bit-reflected
/// (0xC96C5795D7870F42), initial value and final XOR all ones. Check value: the CRC of the
/// ASCII bytes "123456789" is 0x995DC9BBDF1939FA, so `xz` or Go's `crc64.ECMA` can cross-check
/// a state file.
///
/// Guards snapshot state files against corruption (a torn copy, a flipped bit), not against
/// tampering: it is not a cryptographic hash.
public struct CRC64: Sendable, Equatable {
    private var state: UInt64 = ~0

    public init() {}

    /// The checksum of everything passed to `update` so far.
    public var value: UInt64 { ~state }

    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        var crc = state
        for byte in bytes {
            crc = CRC64.table[Int(UInt8(truncatingIfNeeded: crc) ^ byte)] ^ (crc >> 8)
        }
        state = crc
    }

    public mutating func update(_ bytes: some Sequence<UInt8>) {
        var crc = state
        for byte in bytes {
            crc = CRC64.table[Int(UInt8(truncatingIfNeeded: crc) ^ byte)] ^ (crc >> 8)
        }
        state = crc
    }

    public static func checksum(_ bytes: some Sequence<UInt8>) -> UInt64 {
        var crc = CRC64()
        crc.update(bytes)
        return crc.value
    }

    static let reflectedPolynomial: UInt64 = 0xC96C_5795_D787_0F42

    /// One entry per byte value: that byte's effect on the register, eight shifts at a time.
    private static let table: [UInt64] = (0..<256).map { index in
        var crc = UInt64(index)
        for _ in 0..<8 {
            crc = (crc & 1) == 1 ? (crc >> 1) ^ reflectedPolynomial : crc >> 1
        }
        return crc
    }
}
