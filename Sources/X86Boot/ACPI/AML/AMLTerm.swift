import SwiftletCore

/// One encoded AML object: a data object (integer, string, buffer, package) or a term
/// (Name, Scope, Device, Method, Return). The DSDT's body is a list of these.
///
/// Constructors validate what AML cannot represent and throw instead of truncating.
public struct AMLTerm: Sendable, Hashable {
    public let bytes: [UInt8]

    public init(bytes: [UInt8]) { self.bytes = bytes }

    enum Opcode {
        static let zero: UInt8 = 0x00
        static let one: UInt8 = 0x01
        static let ones: UInt8 = 0xFF
        static let name: UInt8 = 0x08
        static let bytePrefix: UInt8 = 0x0A
        static let wordPrefix: UInt8 = 0x0B
        static let dwordPrefix: UInt8 = 0x0C
        static let stringPrefix: UInt8 = 0x0D
        static let qwordPrefix: UInt8 = 0x0E
        static let scope: UInt8 = 0x10
        static let buffer: UInt8 = 0x11
        static let package: UInt8 = 0x12
        static let method: UInt8 = 0x14
        static let extendedPrefix: UInt8 = 0x5B
        static let device: UInt8 = 0x82  // after extendedPrefix
        static let `return`: UInt8 = 0xA4
    }

    // MARK: Data objects

    /// An integer in the shortest form: ZeroOp, OneOp, OnesOp (all 64 bits set; a DSDT of
    /// revision 2 or later has 64-bit integers), or a Byte/Word/DWord/QWord constant.
    public static func integer(_ value: UInt64) -> AMLTerm {
        switch value {
        case 0: return AMLTerm(bytes: [Opcode.zero])
        case 1: return AMLTerm(bytes: [Opcode.one])
        case .max: return AMLTerm(bytes: [Opcode.ones])
        case ...0xFF: return AMLTerm(bytes: [Opcode.bytePrefix, UInt8(value)])
        case ...0xFFFF: return AMLTerm(bytes: [Opcode.wordPrefix] + .littleEndian(UInt16(value)))
        case ...0xFFFF_FFFF: return AMLTerm(bytes: [Opcode.dwordPrefix] + .littleEndian(UInt32(value)))
        default: return AMLTerm(bytes: [Opcode.qwordPrefix] + .littleEndian(value))
        }
    }

    /// A String: ASCII characters 0x01–0x7F, NUL-terminated.
    public static func string(_ text: String) throws(FirmwareTableError) -> AMLTerm {
        let characters = Array(text.utf8)
        guard characters.allSatisfy({ (0x01...0x7F).contains($0) }) else {
            throw FirmwareTableError("AML string \"\(text)\"", "may hold only ASCII characters other than NUL")
        }
        return AMLTerm(bytes: [Opcode.stringPrefix] + characters + [0])
    }

    /// A Buffer: PkgLength, the buffer size as an integer term, then the bytes.
    public static func buffer(_ contents: [UInt8]) throws(FirmwareTableError) -> AMLTerm {
        let payload = integer(UInt64(contents.count)).bytes + contents
        return AMLTerm(bytes: [Opcode.buffer] + (try AMLPackageLength.prefixed(payload)))
    }

    /// A Package of at most 255 elements (the NumElements field is one byte).
    public static func package(_ elements: [AMLTerm]) throws(FirmwareTableError) -> AMLTerm {
        guard elements.count <= 0xFF else {
            throw FirmwareTableError("AML package", "has \(elements.count) elements; a Package holds at most 255")
        }
        let payload = [UInt8(elements.count)] + elements.flatMap(\.bytes)
        return AMLTerm(bytes: [Opcode.package] + (try AMLPackageLength.prefixed(payload)))
    }

    /// `EISAID("PNP0A03")`: a 7-character EISA/PnP ID compressed into a DWord (ACPI 6.5
    /// §19.6.35). Three letters of 5 bits each (letter − 0x40) fill the first two bytes, big
    /// end first; the four hex digits fill the next two, as written. The DWord form is kept
    /// even when a shorter integer would do, as ASL compilers emit it.
    public static func eisaID(_ id: String) throws(FirmwareTableError) -> AMLTerm {
        let characters = Array(id.utf8)
        let letters = characters.prefix(3).map { $0 &- 0x40 }
        let digits = characters.dropFirst(3).compactMap(hexDigitValue)
        guard characters.count == 7, letters.allSatisfy({ (1...26).contains($0) }), digits.count == 4 else {
            throw FirmwareTableError("EISA ID \"\(id)\"", "must be three upper-case letters and four upper-case hex digits")
        }
        let compressed: [UInt8] = [
            letters[0] << 2 | letters[1] >> 3,
            (letters[1] & 0x7) << 5 | letters[2],
            digits[0] << 4 | digits[1],
            digits[2] << 4 | digits[3],
        ]
        return AMLTerm(bytes: [Opcode.dwordPrefix] + compressed)
    }

    private static func hexDigitValue(_ character: UInt8) -> UInt8? {
        switch character {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return character - UInt8(ascii: "0")
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return character - UInt8(ascii: "A") + 10
        default: return nil
        }
    }

    // MARK: Named objects and scopes

    /// `Name(path, value)`.
    public static func name(_ path: String, _ value: AMLTerm) throws(FirmwareTableError) -> AMLTerm {
        AMLTerm(bytes: [Opcode.name] + (try AMLName(path)).bytes + value.bytes)
    }

    /// `Scope(path) { terms }`.
    public static func scope(_ path: String, _ terms: [AMLTerm]) throws(FirmwareTableError) -> AMLTerm {
        let payload = try AMLName(path).bytes + terms.flatMap(\.bytes)
        return AMLTerm(bytes: [Opcode.scope] + (try AMLPackageLength.prefixed(payload)))
    }

    /// `Device(path) { terms }`.
    public static func device(_ path: String, _ terms: [AMLTerm]) throws(FirmwareTableError) -> AMLTerm {
        let payload = try AMLName(path).bytes + terms.flatMap(\.bytes)
        return AMLTerm(bytes: [Opcode.extendedPrefix, Opcode.device] + (try AMLPackageLength.prefixed(payload)))
    }

    /// `Method(path, argumentCount, Serialized/NotSerialized, syncLevel) { terms }`. The flags
    /// byte holds the argument count in bits 0–2, SerializeFlag in bit 3 and SyncLevel in bits 4–7.
    public static func method(
        _ path: String, argumentCount: Int = 0, serialized: Bool = false, syncLevel: Int = 0, _ terms: [AMLTerm]
    ) throws(FirmwareTableError) -> AMLTerm {
        guard (0...7).contains(argumentCount) else {
            throw FirmwareTableError("AML method \(path)", "takes 0 to 7 arguments, not \(argumentCount)")
        }
        guard (0...15).contains(syncLevel) else {
            throw FirmwareTableError("AML method \(path)", "sync level must be 0 to 15, not \(syncLevel)")
        }
        let flags = UInt8(argumentCount) | (serialized ? 0x08 : 0) | UInt8(syncLevel) << 4
        let payload = try AMLName(path).bytes + [flags] + terms.flatMap(\.bytes)
        return AMLTerm(bytes: [Opcode.method] + (try AMLPackageLength.prefixed(payload)))
    }

    /// `Return(value)`.
    public static func `return`(_ value: AMLTerm) -> AMLTerm {
        AMLTerm(bytes: [Opcode.return] + value.bytes)
    }
}
