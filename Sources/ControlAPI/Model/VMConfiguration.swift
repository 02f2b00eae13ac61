/// The body of `GET /vm/config`: everything configured so far, in the shape of a Firecracker
/// `--config-file`, so the output can be saved and fed back with `--config-file`.
public struct VMConfiguration: Sendable, Equatable {
    public var bootSource: BootSource?
    public var drives: [Drive]
    public var machineConfig: MachineConfig
    public var networkInterfaces: [NetworkInterface]
    public var vsock: VsockDevice?

    public init(
        bootSource: BootSource? = nil, drives: [Drive] = [],
        machineConfig: MachineConfig = .firecrackerDefault, networkInterfaces: [NetworkInterface] = [], vsock: VsockDevice? = nil
    ) {
        self.vsock = vsock
        self.bootSource = bootSource
        self.drives = drives
        self.machineConfig = machineConfig
        self.networkInterfaces = networkInterfaces
    }

    var jsonValue: JSONValue {
        var members: [String: JSONValue] = [
            "drives": .array(drives.map(\.jsonValue)),
            "machine-config": machineConfig.jsonValue,
            "network-interfaces": .array(networkInterfaces.map(\.jsonValue)),
        ]
        if let bootSource { members["boot-source"] = bootSource.jsonValue }
        if let vsock { members["vsock"] = vsock.jsonValue }
        return .object(members)
    }
}
