/// One entry of an allowlist: a system call, optionally only with some values of one argument.
public struct SystemCallRule: Sendable, Equatable {
    /// Restricts one argument (0–5) to a set of values, compared as full 64-bit words.
    public struct ArgumentCondition: Sendable, Equatable {
        public var index: Int
        public var allowedValues: [UInt64]

        public init(index: Int, allowedValues: [UInt64]) {
            self.index = index
            self.allowedValues = allowedValues
        }
    }

    public var name: String
    public var condition: ArgumentCondition?

    public init(_ name: String, condition: ArgumentCondition? = nil) {
        self.name = name
        self.condition = condition
    }

    /// `name` allowed only when argument `index` is one of `values`.
    public static func call(_ name: String, argument index: Int, in values: [UInt64]) -> SystemCallRule {
        SystemCallRule(name, condition: ArgumentCondition(index: index, allowedValues: values))
    }
}
