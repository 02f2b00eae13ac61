/// The system calls one thread kind may make. Everything else is denied.
public struct Allowlist: Sendable, Equatable {
    public var rules: [SystemCallRule]

    public init(_ rules: [SystemCallRule]) {
        self.rules = rules
    }

    /// Checks what the BPF generator relies on: known names, each at most once, argument
    /// indices 0–5, and at least one value per condition.
    public func validate(kind: ThreadKind) throws(SeccompError) {
        var seen = Set<String>()
        for rule in rules {
            guard SystemCallTable.number(of: rule.name) != nil else { throw .unknownSystemCall(kind: kind, name: rule.name) }
            guard seen.insert(rule.name).inserted else { throw .duplicateSystemCall(kind: kind, name: rule.name) }
            if let condition = rule.condition {
                guard (0...5).contains(condition.index) else {
                    throw .badArgumentIndex(kind: kind, name: rule.name, index: condition.index)
                }
                guard !condition.allowedValues.isEmpty else { throw .noArgumentValues(kind: kind, name: rule.name) }
            }
        }
    }
}
