import SwiftletCore

/// `PUT /metrics` and the "metrics" section of a config file: the file or named pipe the
/// metrics lines are appended to.
public struct MetricsConfig: Sendable, Equatable {
    public var metricsPath: String

    public init(metricsPath: String) {
        self.metricsPath = metricsPath
    }
}

extension MetricsConfig {
    init(json: JSONValue, context: String = "metrics") throws(APIFault) {
        var reader = try JSONObjectReader(json, context: context)
        let path = try reader.requiredNonEmptyString("metrics_path")
        try reader.rejectUnknownFields()
        self.init(metricsPath: path)
    }

    var jsonValue: JSONValue { .object(["metrics_path": .string(metricsPath)]) }
}
