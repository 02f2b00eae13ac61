import Testing
@testable import X86Boot

/// Data object and term encodings derived from ACPI 6.5 §20.2 (AML grammar): ZeroOp 0x00,
/// OneOp 0x01, OnesOp 0xFF, BytePrefix 0x0A, WordPrefix 0x0B, DWordPrefix 0x0C, StringPrefix
/// 0x0D, QWordPrefix 0x0E, NameOp 0x08, ScopeOp 0x10, BufferOp 0x11, PackageOp 0x12,
/// MethodOp 0x14, DeviceOp 0x5B 0x82, ReturnOp 0xA4.
@Suite struct AMLTermTests {
    @Test func integersUseTheShortestForm() {
        #expect(AMLTerm.integer(0).bytes == [0x00])
        #expect(AMLTerm.integer(1).bytes == [0x01])
        #expect(AMLTerm.integer(UInt64.max).bytes == [0xFF])
        #expect(AMLTerm.integer(2).bytes == [0x0A, 0x02])
        #expect(AMLTerm.integer(0xFF).bytes == [0x0A, 0xFF])
        #expect(AMLTerm.integer(0x100).bytes == [0x0B, 0x00, 0x01])
        #expect(AMLTerm.integer(0xFFFF).bytes == [0x0B, 0xFF, 0xFF])
        #expect(AMLTerm.integer(0x1_0000).bytes == [0x0C, 0x00, 0x00, 0x01, 0x00])
        #expect(AMLTerm.integer(0xFFFF_FFFF).bytes == [0x0C, 0xFF, 0xFF, 0xFF, 0xFF])
        #expect(AMLTerm.integer(0x1_0000_0000).bytes == [0x0E, 0, 0, 0, 0, 1, 0, 0, 0])
        #expect(AMLTerm.integer(0x0123_4567_89AB_CDEF).bytes == [0x0E, 0xEF, 0xCD, 0xAB, 0x89, 0x67, 0x45, 0x23, 0x01])
        #expect(AMLTerm.integer(UInt64.max - 1).bytes == [0x0E, 0xFE] + Array(repeating: 0xFF, count: 7))
    }

    @Test func stringsAreNulTerminatedASCII() throws {
        #expect(try AMLTerm.string("LNRO0005").bytes == [0x0D] + Array("LNRO0005".utf8) + [0x00])
        #expect(try AMLTerm.string("").bytes == [0x0D, 0x00])
        #expect(throws: FirmwareTableError.self) { try AMLTerm.string("caf\u{e9}") }
        #expect(throws: FirmwareTableError.self) { try AMLTerm.string("a\u{0}b") }
    }

    @Test func bufferHoldsPkgLengthSizeAndBytes() throws {
        // PkgLength 6 = itself (1) + BufferSize term 0x0A 0x03 (2) + three bytes.
        #expect(try AMLTerm.buffer([1, 2, 3]).bytes == [0x11, 0x06, 0x0A, 0x03, 0x01, 0x02, 0x03])
        #expect(try AMLTerm.buffer([]).bytes == [0x11, 0x02, 0x00])
        #expect(try AMLTerm.buffer([9]).bytes == [0x11, 0x03, 0x01, 0x09])
    }

    @Test func packageHoldsPkgLengthCountAndElements() throws {
        // Package () { 5, 0 }: PkgLength 5 = 1 + NumElements (1) + 0x0A 0x05 + ZeroOp.
        #expect(try AMLTerm.package([.integer(5), .integer(0)]).bytes == [0x12, 0x05, 0x02, 0x0A, 0x05, 0x00])
        #expect(try AMLTerm.package([]).bytes == [0x12, 0x02, 0x00])
        let nested = try AMLTerm.package([try AMLTerm.package([.integer(1)]), try AMLTerm.string("A")])
        #expect(nested.bytes == [0x12, 0x09, 0x02, 0x12, 0x03, 0x01, 0x01, 0x0D, 0x41, 0x00])
    }

    @Test func packageRefusesMoreThan255Elements() throws {
        #expect(try AMLTerm.package(Array(repeating: .integer(0), count: 255)).bytes.prefix(4) == [0x12, 0x42, 0x10, 0xFF])
        #expect(throws: FirmwareTableError.self) { try AMLTerm.package(Array(repeating: .integer(0), count: 256)) }
    }

    @Test func nameBindsAValue() throws {
        #expect(try AMLTerm.name("_UID", .integer(1)).bytes == [0x08, 0x5F, 0x55, 0x49, 0x44, 0x01])
        #expect(
            try AMLTerm.name("_S5", try .package([.integer(5), .integer(0)])).bytes
                == [0x08, 0x5F, 0x53, 0x35, 0x5F, 0x12, 0x05, 0x02, 0x0A, 0x05, 0x00])
        #expect(throws: FirmwareTableError.self) { try AMLTerm.name("bad", .integer(0)) }
    }

    @Test func scopeAndDeviceWrapTheirTerms() throws {
        let uid = try AMLTerm.name("_UID", .integer(1))
        // Device (COM1) { Name (_UID, One) }: PkgLength 11 = 1 + name (4) + the Name term (6).
        #expect(
            try AMLTerm.device("COM1", [uid]).bytes
                == [0x5B, 0x82, 0x0B, 0x43, 0x4F, 0x4D, 0x31, 0x08, 0x5F, 0x55, 0x49, 0x44, 0x01])
        // Scope (\_SB) { }: PkgLength 6 = 1 + RootChar + segment.
        #expect(try AMLTerm.scope("\\_SB", []).bytes == [0x10, 0x06, 0x5C, 0x5F, 0x53, 0x42, 0x5F])
    }

    @Test func methodEncodesItsFlags() throws {
        // Method (_STA, 0, NotSerialized) { Return (0x0F) }: PkgLength 9 = 1 + 4 + flags + 0xA4 0x0A 0x0F.
        #expect(
            try AMLTerm.method("_STA", [.return(.integer(0x0F))]).bytes
                == [0x14, 0x09, 0x5F, 0x53, 0x54, 0x41, 0x00, 0xA4, 0x0A, 0x0F])
        // Two arguments, Serialized, SyncLevel 3: 0b0011_1_010.
        #expect(try AMLTerm.method("M", argumentCount: 2, serialized: true, syncLevel: 3, []).bytes == [0x14, 0x06, 0x4D, 0x5F, 0x5F, 0x5F, 0x3A])
        #expect(throws: FirmwareTableError.self) { try AMLTerm.method("M", argumentCount: 8, []) }
        #expect(throws: FirmwareTableError.self) { try AMLTerm.method("M", syncLevel: 16, []) }
    }

    @Test func eisaIDCompressesLettersAndKeepsHexDigits() throws {
        // "PNP": P=0x10, N=0x0E, P=0x10 → 0b0_10000_01 110_10000 = 0x41 0xD0; then 0x0A 0x03.
        #expect(try AMLTerm.eisaID("PNP0A03").bytes == [0x0C, 0x41, 0xD0, 0x0A, 0x03])
        #expect(try AMLTerm.eisaID("PNP0A08").bytes == [0x0C, 0x41, 0xD0, 0x0A, 0x08])
        #expect(try AMLTerm.eisaID("PNP0501").bytes == [0x0C, 0x41, 0xD0, 0x05, 0x01])
        // "AAA" = 1,1,1 → 0b0_00001_00 001_00001 = 0x04 0x21; "ZZZ" = 26 → 0x6B 0x5A.
        #expect(try AMLTerm.eisaID("AAA0000").bytes == [0x0C, 0x04, 0x21, 0x00, 0x00])
        #expect(try AMLTerm.eisaID("ZZZFFFF").bytes == [0x0C, 0x6B, 0x5A, 0xFF, 0xFF])
    }

    @Test(arguments: ["pnp0a03", "PNP0A0", "PNP0A033", "PNP0A0G", "PN10A03", "@NP0A03", "PNP0a03", ""])
    func malformedEISAIDsAreRefused(_ id: String) {
        #expect(throws: FirmwareTableError.self) { try AMLTerm.eisaID(id) }
    }
}
