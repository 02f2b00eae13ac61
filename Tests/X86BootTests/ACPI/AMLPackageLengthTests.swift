import SwiftletCore
import Testing
@testable import X86Boot

/// PkgLength encodings derived from ACPI 6.5 §20.2.4: one byte up to 63; otherwise bits 6–7
/// of the lead byte count the bytes that follow, bits 0–3 hold the low nibble, and the
/// following bytes hold the rest of the length, least significant first.
@Suite struct AMLPackageLengthTests {
    @Test func lengthsAtEachWidthBoundary() throws {
        #expect(try AMLPackageLength.encode(length: 0) == [0x00])
        #expect(try AMLPackageLength.encode(length: 63) == [0x3F])
        #expect(try AMLPackageLength.encode(length: 64) == [0x40, 0x04])
        #expect(try AMLPackageLength.encode(length: 0x123) == [0x43, 0x12])
        #expect(try AMLPackageLength.encode(length: 4095) == [0x4F, 0xFF])
        #expect(try AMLPackageLength.encode(length: 4096) == [0x80, 0x00, 0x01])
        #expect(try AMLPackageLength.encode(length: 0xF_FFFF) == [0x8F, 0xFF, 0xFF])
        #expect(try AMLPackageLength.encode(length: 0x10_0000) == [0xC0, 0x00, 0x00, 0x01])
        #expect(try AMLPackageLength.encode(length: 0xFFF_FFFF) == [0xCF, 0xFF, 0xFF, 0xFF])
        #expect(throws: FirmwareTableError.self) { try AMLPackageLength.encode(length: 0x1000_0000) }
        #expect(throws: FirmwareTableError.self) { try AMLPackageLength.encode(length: -1) }
    }

    @Test func payloadLengthsCountThePkgLengthItself() throws {
        // 62 payload bytes + 1 = 63 still fits one byte; 63 + 1 = 64 does not, so 63 + 2 = 65.
        #expect(try AMLPackageLength.encode(payloadCount: 62) == [0x3F])
        #expect(try AMLPackageLength.encode(payloadCount: 63) == [0x41, 0x04])
        // 4093 + 2 = 4095 still fits two bytes; 4094 + 2 = 4096 does not, so 4094 + 3 = 4097.
        #expect(try AMLPackageLength.encode(payloadCount: 4093) == [0x4F, 0xFF])
        #expect(try AMLPackageLength.encode(payloadCount: 4094) == [0x81, 0x00, 0x01])
        #expect(try AMLPackageLength.encode(payloadCount: 0xF_FFFF - 3) == [0x8F, 0xFF, 0xFF])
        #expect(try AMLPackageLength.encode(payloadCount: 0xF_FFFF - 2) == [0xC1, 0x00, 0x00, 0x01])
        #expect(throws: FirmwareTableError.self) { try AMLPackageLength.encode(payloadCount: 0xFFF_FFFF - 3) }
    }

    @Test(arguments: [0, 1, 61, 62, 63, 64, 4092, 4093, 4094, 4095, 70_000])
    func aBufferDeclaresExactlyItsOwnLength(contentCount: Int) throws {
        let buffer = try AMLTerm.buffer(Array(repeating: 0xAB, count: contentCount)).bytes
        let (length, width) = try #require(decodePackageLength(buffer, at: 1))
        #expect(length == buffer.count - 1, "PkgLength counts everything after the opcode")
        #expect(width == (buffer.count - 1 <= 63 ? 1 : buffer.count - 1 <= 4095 ? 2 : 3))
    }
}

/// A PkgLength decoder written from the specification, independent of the encoder.
func decodePackageLength(_ bytes: [UInt8], at offset: Int) -> (length: Int, width: Int)? {
    guard offset < bytes.count else { return nil }
    let lead = bytes[offset]
    let following = Int(lead >> 6)
    if following == 0 { return (Int(lead & 0x3F), 1) }
    guard offset + following < bytes.count else { return nil }
    let high = Array(bytes[offset + 1...offset + following]) + Array(repeating: 0, count: 4 - following)
    guard let upperBits = high.loadLittleEndian(UInt32.self, at: 0) else { return nil }
    return (Int(lead & 0x0F) | Int(upperBits) << 4, following + 1)
}
