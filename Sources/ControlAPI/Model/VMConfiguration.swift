/// The body of `GET /vm/config`: everything configured so far, in the shape of a Firecracker
/// `--config-file`, so the output can be saved and fed back with `--config-file`.
public struct VMConfiguration: Sendable, Equatable {
    public var bootSource: BootSource?
    public var drives: [Drive]
    public var machineConfig: MachineConfig

    public init(
        bootSource: BootSource? = nil, drives: [Drive] = [],
        machineConfig: MachineConfig = .firecrackerDefault
    ) {
        self.bootSource = bootSource
        self.drives = drives
        self.machineConfig = machineConfig
    }

    var jsonValue: JSONValue {
        var members: [String: JSONValue] = [
            "drives": .array(drives.map(\.jsonValue)),
            "machine-config": machineConfig.jsonValue,
            "network-interfaces": .array([]),
        ]
        if let bootSource { members["boot-source"] = bootSource.jsonValue }
        return .object(members)
    }
}
