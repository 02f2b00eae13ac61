import Testing
@testable import X86Boot

/// NameString encodings derived from ACPI 6.5 §20.2.2: RootChar 0x5C, ParentPrefixChar 0x5E,
/// DualNamePrefix 0x2E, MultiNamePrefix 0x2F followed by SegCount, NullName 0x00.
@Suite struct AMLNameTests {
    private func bytes(_ path: String) throws -> [UInt8] { try AMLName(path).bytes }

    @Test func aFullSegmentIsItsFourCharacters() throws {
        #expect(try bytes("_HID") == [0x5F, 0x48, 0x49, 0x44])
        #expect(try bytes("COM1") == [0x43, 0x4F, 0x4D, 0x31])
    }

    @Test func shortSegmentsArePaddedWithUnderscores() throws {
        #expect(try bytes("_SB") == [0x5F, 0x53, 0x42, 0x5F])
        #expect(try bytes("A") == [0x41, 0x5F, 0x5F, 0x5F])
    }

    @Test func rootPrefixComesFirst() throws {
        #expect(try bytes("\\_SB") == [0x5C, 0x5F, 0x53, 0x42, 0x5F])
        // The root itself: RootChar then NullName.
        #expect(try bytes("\\") == [0x5C, 0x00])
    }

    @Test func parentPrefixesRepeat() throws {
        #expect(try bytes("^^FOO") == [0x5E, 0x5E, 0x46, 0x4F, 0x4F, 0x5F])
        #expect(try bytes("^") == [0x5E, 0x00])
    }

    @Test func twoSegmentsUseTheDualNamePrefix() throws {
        #expect(try bytes("\\_SB.PCI0") == [0x5C, 0x2E, 0x5F, 0x53, 0x42, 0x5F, 0x50, 0x43, 0x49, 0x30])
    }

    @Test func threeOrMoreSegmentsUseTheMultiNamePrefixAndACount() throws {
        #expect(
            try bytes("\\_SB.PCI0.COM1")
                == [0x5C, 0x2F, 0x03, 0x5F, 0x53, 0x42, 0x5F, 0x50, 0x43, 0x49, 0x30, 0x43, 0x4F, 0x4D, 0x31])
        #expect(try bytes("A.B.C.D") == [0x2F, 0x04] + Array("A___B___C___D___".utf8))
    }

    @Test(arguments: ["", "1ABC", "ABCDE", "_sb", "A..B", "A.", ".A", "\\^A", "^\\A", "A-B", "PCI0.\u{e9}"])
    func invalidNamesAreRefused(_ path: String) {
        #expect(throws: FirmwareTableError.self) { try AMLName(path) }
    }

    @Test func digitsAreAllowedAfterTheFirstCharacter() throws {
        #expect(try bytes("V0") == [0x56, 0x30, 0x5F, 0x5F])
        #expect(throws: FirmwareTableError.self) { try AMLName("0V") }
    }

    @Test func atMost255Segments() throws {
        let segments = Array(repeating: "A", count: 255).joined(separator: ".")
        #expect(try bytes(segments).prefix(2) == [0x2F, 0xFF])
        #expect(throws: FirmwareTableError.self) { try AMLName(segments + ".A") }
    }
}
