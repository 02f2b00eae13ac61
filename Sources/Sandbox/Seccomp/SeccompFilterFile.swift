import Foundation
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
extension Character {
    fileprivate var isASCIIDigit: Bool { isASCII && isNumber }
}

public struct SeccompFilterFile: Sendable, Equatable {
    public let allowlists: [ThreadKind: Allowlist]

    /// Filter files are small; anything bigger is a mistake.
    static let sizeLimit: UInt64 = 1 << 20

    public static func load(path: String) throws -> SeccompFilterFile {
        let bytes = try HostFile.readAll(path, what: "seccomp filter file", limit: sizeLimit)
        return try parse(Data(bytes), path: path)
    }

    public static func parse(_ data: Data, path: String) throws(SeccompError) -> SeccompFilterFile {
        func fail(_ reason: String) -> SeccompError { .filterFile(path: path, reason: reason) }
        let document: Any
        do {
            document = try JSONSerialization.jsonObject(with: data)
        } catch {
            throw fail("not valid JSON (\(error.localizedDescription))")
        }
        guard let object = document as? [String: Any] else { throw fail("the top level must be an object of thread kinds") }
        let known = ThreadKind.allCases.map(\.rawValue).joined(separator: ", ")
        for key in object.keys where ThreadKind(rawValue: key) == nil {
            throw fail("unknown thread kind '\(key)' (known: \(known))")
        }
        var allowlists: [ThreadKind: Allowlist] = [:]
        for kind in ThreadKind.allCases {
            guard let entries = object[kind.rawValue] else { throw fail("no allowlist for '\(kind.rawValue)' threads (every kind is required)") }
            guard let list = entries as? [Any] else { throw fail("'\(kind.rawValue)' must be an array") }
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

    private static func rule(from entry: Any, kind: ThreadKind, position: Int, fail: (String) -> SeccompError) throws(SeccompError) -> SystemCallRule {
        let place = "'\(kind.rawValue)' entry \(position)"
        if let name = entry as? String { return SystemCallRule(name) }
        guard let object = entry as? [String: Any] else { throw fail("\(place) must be a system call name or an object") }
        for key in object.keys where !["syscall", "argument", "values"].contains(key) {
            throw fail("\(place) has unknown key '\(key)'")
        }
        guard let name = object["syscall"] as? String else { throw fail("\(place) needs a \"syscall\" name") }
        guard let argument = object["argument"] as? Int else { throw fail("\(place) ('\(name)') needs an integer \"argument\"") }
        guard let values = object["values"] as? [Any] else { throw fail("\(place) ('\(name)') needs an array of \"values\"") }
        var parsed: [UInt64] = []
        for value in values {
            guard let number = argumentValue(value) else {
                throw fail("\(place) ('\(name)'): \(value) is neither a number, a hexadecimal string nor a known ioctl request name")
            }
            parsed.append(number)
        }
        return .call(name, argument: argument, in: parsed)
    }

    private static func argumentValue(_ value: Any) -> UInt64? {
        if let text = value as? String {
            if text.hasPrefix("0x") { return UInt64(text.dropFirst(2), radix: 16) }
            return IoctlRequest.value(named: text)
        }
        // Only whole, non-negative numbers: "1.5" and "-1" are refused.
        if let number = value as? NSNumber, number.stringValue.allSatisfy(\.isASCIIDigit) {
            return UInt64(number.stringValue)
        }
        return nil
    }
}
