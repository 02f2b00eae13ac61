import SwiftletCore

/// A custom filter file (`--seccomp-filter FILE`): one allowlist per thread kind, in JSON.
///
///     {
///       "vcpu":      ["futex", "write", {"syscall": "ioctl", "argument": 1, "values": ["KVM_RUN", "0xae80"]}],
///       "api":       [...],
///       "device-io": [...],
///       "main":      [...]
///     }
///
/// An entry is a system call name, or an object that allows the call only when one argument
/// (0–5) has one of the listed values: numbers, hexadecimal strings, or ioctl request names
/// (`KVM_RUN`, `TCGETS`, ...). Every kind must be present, so that a misspelt key never leaves
/// a thread unfiltered; unknown keys and names are errors.
public struct SeccompFilterFile: Sendable, Equatable {
    public let allowlists: [ThreadKind: Allowlist]

    /// Filter files are small; anything bigger is a mistake.
    static let sizeLimit: UInt64 = 1 << 20

    public static func load(path: String) throws -> SeccompFilterFile {
        let bytes = try HostFile.readAll(path, what: "seccomp filter file", limit: sizeLimit)
        return try parse(bytes, path: path)
    }

    public static func parse(_ bytes: [UInt8], path: String) throws(SeccompError) -> SeccompFilterFile {
        func fail(_ reason: String) -> SeccompError { .filterFile(path: path, reason: reason) }
        guard let document = JSONValue.parse(bytes) else { throw fail("not valid JSON") }
        guard case .object(let object) = document else { throw fail("the top level must be an object of thread kinds") }
        let known = ThreadKind.allCases.map(\.rawValue).joined(separator: ", ")
        for key in object.keys where ThreadKind(rawValue: key) == nil {
            throw fail("unknown thread kind '\(key)' (known: \(known))")
        }
        var allowlists: [ThreadKind: Allowlist] = [:]
        for kind in ThreadKind.allCases {
            guard let entries = object[kind.rawValue] else { throw fail("no allowlist for '\(kind.rawValue)' threads (every kind is required)") }
            guard case .array(let list) = entries else { throw fail("'\(kind.rawValue)' must be an array") }
            var rules: [SystemCallRule] = []
            for (index, entry) in list.enumerated() {
                rules.append(try rule(from: entry, kind: kind, position: index, fail: fail))
            }
            let allowlist = Allowlist(rules)
            do throws(SeccompError) {
                try allowlist.validate(kind: kind)
            } catch {
                throw fail(error.description)
            }
            allowlists[kind] = allowlist
        }
        return SeccompFilterFile(allowlists: allowlists)
    }

    private static func rule(from entry: JSONValue, kind: ThreadKind, position: Int, fail: (String) -> SeccompError) throws(SeccompError) -> SystemCallRule {
        let place = "'\(kind.rawValue)' entry \(position)"
        if case .string(let name) = entry { return SystemCallRule(name) }
        guard case .object(let object) = entry else { throw fail("\(place) must be a system call name or an object") }
        for key in object.keys.sorted() where !["syscall", "argument", "values"].contains(key) {
            throw fail("\(place) has unknown key '\(key)'")
        }
        guard case .string(let name) = object["syscall"] else { throw fail("\(place) needs a \"syscall\" name") }
        guard case .integer(let argument) = object["argument"], let index = Int(exactly: argument) else {
            throw fail("\(place) ('\(name)') needs an integer \"argument\"")
        }
        guard case .array(let values) = object["values"] else { throw fail("\(place) ('\(name)') needs an array of \"values\"") }
        var parsed: [UInt64] = []
        for value in values {
            guard let number = argumentValue(value) else {
                throw fail("\(place) ('\(name)'): \(value.serialized()) is neither a number, a hexadecimal string nor a known ioctl request name")
            }
            parsed.append(number)
        }
        return .call(name, argument: index, in: parsed)
    }

    /// Only whole, non-negative numbers: 1.5 and -1 are refused.
    private static func argumentValue(_ value: JSONValue) -> UInt64? {
        switch value {
        case .string(let text) where text.hasPrefix("0x"): return UInt64(text.dropFirst(2), radix: 16)
        case .string(let text): return IoctlRequest.value(named: text)
        case .integer(let number): return UInt64(exactly: number)
        default: return nil
        }
    }
}
