import SwiftletCore

/// AML's PkgLength (ACPI 6.5 §20.2.4): the length of a Scope, Device, Method, Buffer or
/// Package, counting the PkgLength bytes themselves and everything after them up to the end
/// of the object.
///
/// One byte holds lengths up to 63 in bits 0–5. Longer lengths take 2, 3 or 4 bytes: the
/// lead byte's bits 6–7 say how many bytes follow, its bits 0–3 hold the low nibble, and the
/// following bytes hold the rest, least significant first (so at most 2^28 − 1).
public enum AMLPackageLength {
    /// The largest length each encoding width (1 to 4 bytes) can hold.
    static let maximumLength: [Int] = [0x3F, 0xFFF, 0xF_FFFF, 0xFFF_FFFF]

    /// The PkgLength in front of `payloadCount` bytes: the encoded length includes the
    /// PkgLength's own bytes, so the width is the smallest one that still fits after adding
    /// itself.
    public static func encode(payloadCount: Int) throws(FirmwareTableError) -> [UInt8] {
        guard payloadCount >= 0 else { throw FirmwareTableError("AML PkgLength", "negative payload \(payloadCount)") }
        for (index, maximum) in maximumLength.enumerated() {
            let width = index + 1
            if payloadCount <= maximum - width { return try encode(length: payloadCount + width) }
        }
        throw FirmwareTableError("AML PkgLength", "a payload of \(payloadCount) bytes is longer than AML can encode")
    }

    /// `length` (which already includes the PkgLength bytes) in the narrowest encoding.
    public static func encode(length: Int) throws(FirmwareTableError) -> [UInt8] {
        guard length >= 0, let index = maximumLength.firstIndex(where: { length <= $0 }) else {
            throw FirmwareTableError("AML PkgLength", "\(length) is outside 0...\(maximumLength[3])")
        }
        if index == 0 { return [UInt8(length)] }
        let followingByteCount = UInt8(index)
        let leadByte = followingByteCount << 6 | UInt8(length & 0xF)
        return [leadByte] + [UInt8].littleEndian(UInt32(length >> 4)).prefix(index)
    }

    /// PkgLength followed by `payload`.
    static func prefixed(_ payload: [UInt8]) throws(FirmwareTableError) -> [UInt8] {
        try encode(payloadCount: payload.count) + payload
    }
}
