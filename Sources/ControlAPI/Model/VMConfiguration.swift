import SwiftletCore

/// The body of `GET /vm/config`: everything configured so far, in the shape of a Firecracker
/// `--config-file`, so the output can be saved and fed back with `--config-file`. Sections
/// that are not configured are null, as Firecracker writes them.
public struct VMConfiguration: Sendable, Equatable {
    public var bootSource: BootSource?
    public var drives: [Drive]
    public var machineConfig: MachineConfig
    public var networkInterfaces: [NetworkInterface]
    public var logger: LoggerConfig?
    public var metrics: MetricsConfig?
    public var serial: SerialConfig?
    public var entropy: EntropyDevice?
    public var vsock: VsockDevice?

    public init(
        bootSource: BootSource? = nil, drives: [Drive] = [],
        machineConfig: MachineConfig = .firecrackerDefault, networkInterfaces: [NetworkInterface] = [],
        logger: LoggerConfig? = nil, metrics: MetricsConfig? = nil, serial: SerialConfig? = nil,
        entropy: EntropyDevice? = nil, vsock: VsockDevice? = nil
    ) {
        self.vsock = vsock
        self.bootSource = bootSource
        self.drives = drives
        self.machineConfig = machineConfig
        self.networkInterfaces = networkInterfaces
        self.logger = logger
        self.metrics = metrics
        self.serial = serial
        self.entropy = entropy
    }

    var jsonValue: JSONValue {
        var members: [String: JSONValue] = [
            "drives": .array(drives.map(\.jsonValue)),
            "machine-config": machineConfig.jsonValue,
            "network-interfaces": .array(networkInterfaces.map(\.jsonValue)),
            "logger": logger?.jsonValue ?? .null,
            "metrics": metrics?.jsonValue ?? .null,
            "serial": serial?.jsonValue ?? .null,
            "entropy": entropy?.jsonValue ?? .null,
            // Resources Swiftlet does not have: null, as Firecracker reports unconfigured ones.
            "balloon": .null,
            "mmds-config": .null,
            "cpu-config": .null,
        ]
        if let bootSource { members["boot-source"] = bootSource.jsonValue }
        if let vsock { members["vsock"] = vsock.jsonValue }
        return .object(members)
    }
}
