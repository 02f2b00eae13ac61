import SwiftletCore

/// `PUT /logger` and the "logger" section of a config file: where the VMM's log goes and how
/// much of it. Every field is optional; an absent one keeps its current setting.
public struct LoggerConfig: Sendable, Equatable {
    /// A file or a named pipe; the log is appended to it.
    public var logPath: String?
    public var level: LogLevel?
    /// Firecracker's switch for the level in each line.
    public var showLevel: Bool?
    /// Put the source file and line of the message in each line.
    public var showLogOrigin: Bool?

    public init(logPath: String? = nil, level: LogLevel? = nil, showLevel: Bool? = nil, showLogOrigin: Bool? = nil) {
        self.logPath = logPath
        self.level = level
        self.showLevel = showLevel
        self.showLogOrigin = showLogOrigin
    }
}

extension LoggerConfig {
    init(json: JSONValue, context: String = "logger") throws(APIFault) {
        var reader = try JSONObjectReader(json, context: context)
        let path = try reader.optional("log_path", .string)
        if path?.isEmpty == true { throw APIFault("Invalid \(context): field 'log_path' must not be empty.") }
        var level: LogLevel?
        if let name = try reader.optional("level", .string) {
            guard let parsed = LogLevel(name: name) else {
                throw APIFault("Invalid \(context): unknown level '\(name)'; expected Error, Warning, Info, Debug, Trace or Off.")
            }
            level = parsed
        }
        let showLevel = try reader.optional("show_level", .bool)
        let showOrigin = try reader.optional("show_log_origin", .bool)
        try reader.requireUnsupported("module", toBeOneOf: [], feature: "filtering the log by module")
        try reader.rejectUnknownFields()
        self.init(logPath: path, level: level, showLevel: showLevel, showLogOrigin: showOrigin)
    }

    var jsonValue: JSONValue {
        .object([
            "log_path": logPath.map(JSONValue.string) ?? .null,
            "level": level.map { .string($0.firecrackerName) } ?? .null,
            "show_level": showLevel.map(JSONValue.bool) ?? .null,
            "show_log_origin": showLogOrigin.map(JSONValue.bool) ?? .null,
        ])
    }
}
