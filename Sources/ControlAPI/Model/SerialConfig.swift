import SwiftletCore

/// `PUT /serial` and the "serial" section of a config file: where the guest's console goes.
public struct SerialConfig: Sendable, Equatable {
    /// A file or named pipe that receives the console output instead of stdout; nil keeps stdout.
    public var serialOutPath: String?

    public init(serialOutPath: String? = nil) {
        self.serialOutPath = serialOutPath
    }
}

extension SerialConfig {
    init(json: JSONValue, context: String = "serial") throws(APIFault) {
        var reader = try JSONObjectReader(json, context: context)
        let path = try reader.optional("serial_out_path", .string)
        if path?.isEmpty == true { throw APIFault("Invalid \(context): field 'serial_out_path' must not be empty.") }
        try reader.rejectUnknownFields()
        self.init(serialOutPath: path)
    }

    var jsonValue: JSONValue { .object(["serial_out_path": serialOutPath.map(JSONValue.string) ?? .null]) }
}
