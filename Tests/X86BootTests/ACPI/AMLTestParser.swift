import SwiftletCore
@testable import X86Boot

/// A small AML reader, written from the ACPI grammar independently of the builder, for the
/// subset the DSDT uses. It checks that every PkgLength covers exactly its object's bytes and
/// that nothing is left over, so a DSDT that reads back through it is structurally sound.
struct AMLTestParser {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    indirect enum Value: Equatable {
        case integer(UInt64)
        case string(String)
        case buffer([UInt8])
        case package([Value])
    }

    indirect enum Node: Equatable {
        case scope(String, [Node])
        case device(String, [Node])
        case name(String, Value)
        case method(String, flags: UInt8, body: [UInt8])
    }

    private let bytes: [UInt8]
    private var position: Int

    static func parse(_ bytes: [UInt8]) throws -> [Node] {
        var parser = AMLTestParser(bytes: bytes, position: 0)
        return try parser.terms(until: bytes.count)
    }

    private mutating func byte() throws -> UInt8 {
        guard position < bytes.count else { throw Failure(description: "ran off the end at \(position)") }
        defer { position += 1 }
        return bytes[position]
    }

    private mutating func take(_ count: Int) throws -> [UInt8] {
        guard count >= 0, position + count <= bytes.count else { throw Failure(description: "\(count) bytes past \(position)") }
        defer { position += count }
        return Array(bytes[position..<position + count])
    }

    private mutating func terms(until end: Int) throws -> [Node] {
        var nodes: [Node] = []
        while position < end { nodes.append(try term()) }
        guard position == end else { throw Failure(description: "a term ran past its parent's end \(end)") }
        return nodes
    }

    /// Reads a PkgLength and returns where the object it measures ends.
    private mutating func packageEnd() throws -> Int {
        let start = position
        guard let (length, width) = decodePackageLength(bytes, at: position) else { throw Failure(description: "bad PkgLength") }
        position += width
        guard start + length <= bytes.count else { throw Failure(description: "PkgLength \(length) at \(start) runs past the end") }
        return start + length
    }

    private mutating func term() throws -> Node {
        switch try byte() {
        case 0x08:
            return .name(try nameString(), try value())
        case 0x10:
            let end = try packageEnd()
            return .scope(try nameString(), try terms(until: end))
        case 0x14:
            let end = try packageEnd()
            let name = try nameString()
            let flags = try byte()
            return .method(name, flags: flags, body: try take(end - position))
        case 0x5B:
            guard try byte() == 0x82 else { throw Failure(description: "unknown extended opcode at \(position - 1)") }
            let end = try packageEnd()
            return .device(try nameString(), try terms(until: end))
        case let opcode:
            throw Failure(description: "unexpected opcode 0x\(String(opcode, radix: 16)) at \(position - 1)")
        }
    }

    private mutating func value() throws -> Value {
        switch try byte() {
        case 0x00: return .integer(0)
        case 0x01: return .integer(1)
        case 0xFF: return .integer(.max)
        case 0x0A: return .integer(UInt64(try byte()))
        case 0x0B: return .integer(UInt64(try take(2).loadLittleEndian(UInt16.self, at: 0)!))
        case 0x0C: return .integer(UInt64(try take(4).loadLittleEndian(UInt32.self, at: 0)!))
        case 0x0E: return .integer(try take(8).loadLittleEndian(UInt64.self, at: 0)!)
        case 0x0D:
            var characters: [UInt8] = []
            while case let character = try byte(), character != 0 { characters.append(character) }
            return .string(String(decoding: characters, as: UTF8.self))
        case 0x11:
            let end = try packageEnd()
            guard case .integer(let size) = try value() else { throw Failure(description: "buffer size is not an integer") }
            let contents = try take(end - position)
            guard contents.count == Int(size) else { throw Failure(description: "buffer size \(size) but \(contents.count) bytes") }
            return .buffer(contents)
        case 0x12:
            let end = try packageEnd()
            let count = Int(try byte())
            var elements: [Value] = []
            while position < end { elements.append(try value()) }
            guard position == end, elements.count == count else { throw Failure(description: "package count or length mismatch") }
            return .package(elements)
        case let opcode:
            throw Failure(description: "unexpected data opcode 0x\(String(opcode, radix: 16)) at \(position - 1)")
        }
    }

    /// The NameString as ASL writes it, with every segment at its full four characters.
    private mutating func nameString() throws -> String {
        var prefix = ""
        while bytes.indices.contains(position), bytes[position] == 0x5C || bytes[position] == 0x5E {
            prefix += try byte() == 0x5C ? "\\" : "^"
        }
        let count: Int
        switch bytes.indices.contains(position) ? bytes[position] : 0xFF {
        case 0x00: position += 1; count = 0
        case 0x2E: position += 1; count = 2
        case 0x2F: position += 1; count = Int(try byte())
        default: count = 1
        }
        let segments = try (0..<count).map { _ in String(decoding: try take(4), as: UTF8.self) }
        return prefix + segments.joined(separator: ".")
    }
}

extension [AMLTestParser.Node] {
    /// The value of `Name(name, …)` among these nodes.
    func value(named name: String) -> AMLTestParser.Value? {
        for case .name(let candidate, let value) in self where candidate == name { return value }
        return nil
    }

    func device(named name: String) -> [AMLTestParser.Node]? {
        for case .device(let candidate, let children) in self where candidate == name { return children }
        return nil
    }
}

/// The descriptors of a resource template, split by their tags; nil if the template does not
/// end in an end tag exactly at its end.
func splitResourceTemplate(_ template: [UInt8]) -> [[UInt8]]? {
    var descriptors: [[UInt8]] = []
    var offset = 0
    while offset < template.count {
        let tag = template[offset]
        let size: Int
        if tag & 0x80 != 0 {
            guard let length = template.loadLittleEndian(UInt16.self, at: offset + 1) else { return nil }
            size = 3 + Int(length)
        } else {
            size = 1 + Int(tag & 0x07)
        }
        guard offset + size <= template.count else { return nil }
        descriptors.append(Array(template[offset..<offset + size]))
        offset += size
        if tag == 0x79 { return offset == template.count ? descriptors : nil }
    }
    return nil
}
