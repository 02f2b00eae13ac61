/// Firecracker's log levels, as `--level` and `PUT /logger`'s "level" spell them (any case).
public enum LogLevel: String, Sendable, Equatable, CaseIterable {
    case error, warning, info, debug, trace, off

    /// Accepts "Warning", "warning", "WARNING", …
    public init?(name: String) {
        self.init(rawValue: name.lowercased())
    }

    /// Firecracker's spelling, for `GET /vm/config`.
    public var firecrackerName: String { rawValue.prefix(1).uppercased() + rawValue.dropFirst() }
}
