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
        guard let value = value(key) else {
            throw APIFault("Invalid \(context): missing required field '\(key)'.")
        }
        return value
    }

    mutating func optionalString(_ key: String) throws(APIFault) -> String? {
        guard let value = value(key) else { return nil }
        guard case .string(let string) = value else { throw typeMismatch(key, expected: "a string", got: value) }
        return string
    }

    mutating func requiredString(_ key: String) throws(APIFault) -> String {
        let value = try requiredValue(key)
        guard case .string(let string) = value else { throw typeMismatch(key, expected: "a string", got: value) }
        return string
    }

    /// A required string that must not be empty (paths and identifiers).
    mutating func requiredNonEmptyString(_ key: String) throws(APIFault) -> String {
        let string = try requiredString(key)
        guard !string.isEmpty else { throw APIFault("Invalid \(context): field '\(key)' must not be empty.") }
        return string
    }

    mutating func optionalBool(_ key: String) throws(APIFault) -> Bool? {
        guard let value = value(key) else { return nil }
        guard case .bool(let bool) = value else { throw typeMismatch(key, expected: "a boolean", got: value) }
        return bool
    }

    mutating func requiredBool(_ key: String) throws(APIFault) -> Bool {
        let value = try requiredValue(key)
        guard case .bool(let bool) = value else { throw typeMismatch(key, expected: "a boolean", got: value) }
        return bool
    }

    mutating func requiredInteger(_ key: String, in range: ClosedRange<Int64>) throws(APIFault) -> Int64 {
        let value = try requiredValue(key)
        guard case .integer(let integer) = value else {
            throw typeMismatch(key, expected: "an integer", got: value)
        }
        guard range.contains(integer) else {
            throw APIFault(
                "Invalid \(context): field '\(key)' is \(integer); it must be between "
                    + "\(range.lowerBound) and \(range.upperBound).")
        }
        return integer
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

    private func typeMismatch(_ key: String, expected: String, got value: JSONValue) -> APIFault {
        APIFault("Invalid \(context): field '\(key)' must be \(expected), got \(value.typeName).")
    }
}
