import SwiftletCore

/// The lifecycle state reported by `GET /`, with Firecracker's exact strings.
public enum InstanceState: String, Sendable, Equatable, CaseIterable {
    case notStarted = "Not started"
    case running = "Running"
    case paused = "Paused"
}

/// The body of `GET /`.
public struct InstanceInfo: Sendable, Equatable {
    public var id: String
    public var state: InstanceState
    public var vmmVersion: String
    public var appName: String

    public init(id: String, state: InstanceState, vmmVersion: String, appName: String = "Swiftlet") {
        self.id = id
        self.state = state
        self.vmmVersion = vmmVersion
        self.appName = appName
    }

    var jsonValue: JSONValue {
        .object([
            "id": .string(id),
            "state": .string(state.rawValue),
            "vmm_version": .string(vmmVersion),
            "app_name": .string(appName),
        ])
    }
}
