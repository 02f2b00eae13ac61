import SwiftletCore

/// Reads the members of one JSON object with Firecracker-style strictness: every field is
/// type-checked, required fields must be present, and `rejectUnknownFields()` refuses any
/// member that no accessor asked for (a typo such as `vcpus_count` must not be silently
/// ignored and leave a default in place).
///
/// JSON `null` is treated as "absent", as serde's `Option` does in Firecracker.
struct JSONObjectReader {
    /// Names the object in messages, e.g. "machine-config" or "drives[0]".
    let context: String
    private let members: [String: JSONValue]
    private var consumedKeys: Set<String> = []

    init(_ value: JSONValue, context: String) throws(APIFault) {
        guard case .object(let members) = value else {
            throw APIFault("Invalid \(context): expected a JSON object, got \(value.typeName).")
        }
        self.context = context
        self.members = members
    }

    /// The raw member, or nil when it is absent or null. Marks the key as known.
    mutating func value(_ key: String) -> JSONValue? {
        consumedKeys.insert(key)
        guard let value = members[key], value != .null else { return nil }
        return value
    }

    mutating func requiredValue(_ key: String) throws(APIFault) -> JSONValue {
        guard let value = value(key) else { throw missing(key) }
        return value
    }

    /// A required string that must not be empty (paths and identifiers).
    mutating func requiredNonEmptyString(_ key: String) throws(APIFault) -> String {
        let string = try required(key, .string)
        guard !string.isEmpty else { throw APIFault("Invalid \(context): field '\(key)' must not be empty.") }
        return string
    }

    /// The member as `kind` (`.string`, `.bool`, `.integer`), or nil when absent or null.
    mutating func optional<Value>(_ key: String, _ kind: Kind<Value>) throws(APIFault) -> Value? {
        guard let value = value(key) else { return nil }
        guard let typed = kind.extract(value) else {
            throw APIFault("Invalid \(context): field '\(key)' must be \(kind.name), got \(value.typeName).")
        }
        return typed
    }

    mutating func required<Value>(_ key: String, _ kind: Kind<Value>) throws(APIFault) -> Value {
        guard let typed = try optional(key, kind) else { throw missing(key) }
        return typed
    }

    /// A check from `MachineLimits`, given the field's name as the client spelled it, so the
    /// API refuses a bad value with the same words as the command line.
    typealias Limit<Value> = (Value, String) throws(MachineLimits.Violation) -> Void

    mutating func required<Value>(_ key: String, _ kind: Kind<Value>, limit: Limit<Value>) throws(APIFault) -> Value {
        guard let value = try optional(key, kind, limit: limit) else { throw missing(key) }
        return value
    }

    /// The member checked by `limit`, or nil when absent or null.
    mutating func optional<Value>(_ key: String, _ kind: Kind<Value>, limit: Limit<Value>) throws(APIFault) -> Value? {
        guard let value = try optional(key, kind) else { return nil }
        do {
            try limit(value, key)
        } catch {
            throw APIFault("Invalid \(context): \(error).")
        }
        return value
    }

    mutating func requiredObject(_ key: String) throws(APIFault) -> JSONObjectReader {
        try JSONObjectReader(try requiredValue(key), context: "\(context).\(key)")
    }

    mutating func optionalObject(_ key: String) throws(APIFault) -> JSONObjectReader? {
        guard let value = value(key) else { return nil }
        return try JSONObjectReader(value, context: "\(context).\(key)")
    }

    /// Accepts a Firecracker field that Swiftlet does not implement only when it carries the
    /// value that means "feature off", so configurations written for Firecracker still load
    /// as long as they do not depend on the feature.
    mutating func requireUnsupported(_ key: String, toBeOneOf accepted: [JSONValue], feature: String) throws(APIFault) {
        guard let value = value(key) else { return }
        guard accepted.contains(value) else {
            throw APIFault("Invalid \(context): \(feature) ('\(key)': \(value.serialized())) is not supported by Swiftlet.")
        }
    }

    /// Throws if the object has a member that none of the accessors above asked for.
    func rejectUnknownFields() throws(APIFault) {
        let unknown = members.keys.filter { !consumedKeys.contains($0) }.sorted()
        guard let first = unknown.first else { return }
        let list = unknown.count == 1 ? "field '\(first)'" : "fields " + unknown.map { "'\($0)'" }.joined(separator: ", ")
        throw APIFault("Invalid \(context): unknown \(list).")
    }

    /// How to take one JSON type out of a value, and what to call it in a message.
    struct Kind<Value> {
        let name: String
        let extract: (JSONValue) -> Value?
    }

    private func missing(_ key: String) -> APIFault {
        APIFault("Invalid \(context): missing required field '\(key)'.")
    }
}

extension JSONObjectReader.Kind where Value == String {
    static var string: Self { Self(name: "a string") { if case .string(let value) = $0 { value } else { nil } } }
}

extension JSONObjectReader.Kind where Value: RawRepresentable & CaseIterable, Value.RawValue == String {
    /// A string naming one case of `Value`, as Firecracker spells its enumerations ("Unsafe").
    static var oneOfTheCases: Self {
        Self(name: "one of " + Value.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", ")) {
            if case .string(let value) = $0 { Value(rawValue: value) } else { nil }
        }
    }
}

extension JSONObjectReader.Kind where Value == Bool {
    static var bool: Self { Self(name: "a boolean") { if case .bool(let value) = $0 { value } else { nil } } }
}

extension JSONObjectReader.Kind where Value == Int {
    /// Int is 64 bits on every platform Swiftlet runs on, so the conversion is exact.
    static var integer: Self { Self(name: "an integer") { if case .integer(let value) = $0 { Int(exactly: value) } else { nil } } }
}
