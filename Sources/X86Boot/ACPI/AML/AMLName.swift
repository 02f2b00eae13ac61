/// An AML NameString (ACPI 6.5 §20.2.2): an optional root (`\`) or parent (`^`) prefix, then
/// zero or more 4-character name segments.
///
/// Written the way ASL writes it: `"\\_SB.PCI0"`, `"^COM1"`, `"_HID"`. Segments shorter
/// than four characters are padded with `_` (`"_SB"` is `_SB_`).
public struct AMLName: Sendable, Hashable, CustomStringConvertible {
    /// The encoded NameString.
    public let bytes: [UInt8]
    public let description: String

    static let rootPrefix: UInt8 = 0x5C  // '\'
    static let parentPrefix: UInt8 = 0x5E  // '^'
    static let dualNamePrefix: UInt8 = 0x2E
    static let multiNamePrefix: UInt8 = 0x2F
    static let nullName: UInt8 = 0x00
    static let segmentLength = 4
    static let padding = UInt8(ascii: "_")

    public init(_ path: String) throws(FirmwareTableError) {
        description = path
        var rest = Substring(path)
        var prefix: [UInt8] = []
        if rest.first == "\\" {
            prefix = [Self.rootPrefix]
            rest = rest.dropFirst()
        } else {
            while rest.first == "^" {
                prefix.append(Self.parentPrefix)
                rest = rest.dropFirst()
            }
        }
        let segments = rest.isEmpty ? [] : rest.split(separator: ".", omittingEmptySubsequences: false)
        var encodedSegments: [UInt8] = []
        for segment in segments { encodedSegments += try Self.encodeSegment(segment, in: path) }

        switch segments.count {
        case 0:
            // A bare prefix names the root or an ancestor scope itself: prefix then NullName.
            guard !prefix.isEmpty else { throw FirmwareTableError("AML name \"\(path)\"", "is empty") }
            bytes = prefix + [Self.nullName]
        case 1:
            bytes = prefix + encodedSegments
        case 2:
            bytes = prefix + [Self.dualNamePrefix] + encodedSegments
        case 3...255:
            bytes = prefix + [Self.multiNamePrefix, UInt8(segments.count)] + encodedSegments
        default:
            throw FirmwareTableError("AML name \"\(path)\"", "has \(segments.count) segments; AML allows at most 255")
        }
    }

    /// A NameSeg: a leading letter or underscore, then letters, digits or underscores, padded
    /// to four bytes with underscores. Lower case is refused, as ASL compilers do.
    private static func encodeSegment(_ segment: Substring, in path: String) throws(FirmwareTableError) -> [UInt8] {
        let characters = Array(segment.utf8)
        guard (1...segmentLength).contains(characters.count) else {
            throw FirmwareTableError("AML name \"\(path)\"", "segment \"\(segment)\" must have 1 to 4 characters")
        }
        for (index, character) in characters.enumerated() {
            let isLeadCharacter = isUpperCaseLetter(character) || character == padding
            let isDigit = character >= UInt8(ascii: "0") && character <= UInt8(ascii: "9")
            guard isLeadCharacter || (index > 0 && isDigit) else {
                throw FirmwareTableError(
                    "AML name \"\(path)\"",
                    "segment \"\(segment)\" may hold only A-Z, _ and (after the first character) 0-9")
            }
        }
        return characters + Array(repeating: padding, count: segmentLength - characters.count)
    }

    private static func isUpperCaseLetter(_ character: UInt8) -> Bool {
        character >= UInt8(ascii: "A") && character <= UInt8(ascii: "Z")
    }
}
