import SwiftletCore

/// Firecracker's `--config-file`: the same resources as the API, in one JSON document with
/// kebab-case section names ("boot-source", "drives", "network-interfaces", "machine-config",
/// "logger", "metrics", …) and the API's field names inside. Firecracker starts the VM right after applying it; `apply(to:)` only
/// configures, so the caller decides when to call `instanceStart()`.
public struct FirecrackerConfigFile: Sendable, Equatable {
    public var bootSource: BootSource
    public var drives: [Drive]
    public var networkInterfaces: [NetworkInterface]
    /// nil when the file has no "vsock" section (or it is null or empty).
    public var vsock: VsockDevice?
    /// nil when the file has no "machine-config" (Firecracker's defaults then apply).
    public var machineConfig: MachineConfig?
    public var logger: LoggerConfig?
    public var metrics: MetricsConfig?
    public var serial: SerialConfig?
    public var entropy: EntropyDevice?

    public init(bootSource: BootSource, drives: [Drive] = [], machineConfig: MachineConfig? = nil, networkInterfaces: [NetworkInterface] = []) {
        self.bootSource = bootSource
        self.drives = drives
        self.networkInterfaces = networkInterfaces
        self.machineConfig = machineConfig
    }

    /// Sections Swiftlet does not implement. They are accepted when they configure nothing
    /// (null, an empty list or an empty object), so Firecracker's sample files load; anything
    /// else is refused instead of being silently dropped.
    static let unsupportedSections = [
        "balloon", "mmds-config",
        "cpu-config", "pmem", "memory-hotplug",
    ]

    /// Config files are small; this only stops a wrong path (a disk image) from being slurped.
    static let maxFileBytes: UInt64 = 1 << 20

    public init(parsing bytes: [UInt8]) throws(FirecrackerConfigFileError) {
        do throws(APIFault) {
            var reader = try JSONObjectReader(
                try JSONValue.parse(bytes, what: "config file"), context: "config file")
            guard let bootJSON = reader.value("boot-source") else {
                throw APIFault("The config file has no \"boot-source\" section; it needs at least a kernel_image_path.")
            }
            bootSource = try BootSource(json: bootJSON)
            machineConfig = nil
            if let machineJSON = reader.value("machine-config") {
                machineConfig = try MachineConfig(json: machineJSON)
            }
            logger = try Self.section(reader.value("logger")) { json throws(APIFault) in try LoggerConfig(json: json) }
            metrics = try Self.section(reader.value("metrics")) { json throws(APIFault) in try MetricsConfig(json: json) }
            serial = try Self.section(reader.value("serial")) { json throws(APIFault) in try SerialConfig(json: json) }
            // An empty object is a device with default settings, as in Firecracker's files.
            entropy = try reader.value("entropy").map { json throws(APIFault) in try EntropyDevice(json: json) }
            drives = try Self.list(reader.value("drives"), section: "drives", idField: "drive_id", id: \.driveID, parse: Drive.init)
            networkInterfaces = try Self.list(
                reader.value("network-interfaces"), section: "network-interfaces", idField: "iface_id", id: \.interfaceID, parse: NetworkInterface.init)
            vsock = nil
            if let vsockJSON = reader.value("vsock"), vsockJSON != .object([:]) {
                vsock = try VsockDevice(json: vsockJSON, context: "vsock")
            }
            for section in Self.unsupportedSections {
                guard let value = reader.value(section) else { continue }
                guard value == .array([]) || value == .object([:]) else {
                    throw APIFault("The config file section \"\(section)\" is not supported by Swiftlet; remove it or leave it empty.")
                }
            }
            try reader.rejectUnknownFields()
        } catch {
            throw FirecrackerConfigFileError(error.message)
        }
    }

    /// A section that configures one resource; an empty object configures nothing, as these
    /// sections were accepted empty before Swiftlet had the resource.
    private static func section<Resource>(_ json: JSONValue?, parse: (JSONValue) throws(APIFault) -> Resource) throws(APIFault) -> Resource? {
        guard let json, json != .object([:]) else { return nil }
        return try parse(json)
    }

    /// A section that is a list of resources with unique ids ("drives", "network-interfaces");
    /// absent or null is an empty list.
    private static func list<Resource>(
        _ json: JSONValue?, section: String, idField: String, id: (Resource) -> String,
        parse: (JSONValue, String) throws(APIFault) -> Resource
    ) throws(APIFault) -> [Resource] {
        guard let json else { return [] }
        guard case .array(let entries) = json else {
            throw APIFault("Invalid config file: \"\(section)\" must be a list, got \(json.typeName).")
        }
        var resources: [Resource] = []
        for (index, entry) in entries.enumerated() {
            let resource = try parse(entry, "\(section)[\(index)]")
            guard !resources.contains(where: { id($0) == id(resource) }) else {
                throw APIFault("Invalid config file: \(idField) '\(id(resource))' appears more than once in \"\(section)\".")
            }
            resources.append(resource)
        }
        return resources
    }

    public init(contentsOf path: String) throws(FirecrackerConfigFileError) {
        let bytes: [UInt8]
        do {
            // HostFile refuses FIFOs and devices, so a wrong path cannot hang the VMM.
            bytes = try HostFile.readAll(path, what: "config", limit: Self.maxFileBytes)
        } catch {
            throw FirecrackerConfigFileError(error.description)
        }
        do {
            try self.init(parsing: bytes)
        } catch {
            throw FirecrackerConfigFileError("\(path): \(error.message)")
        }
    }

    /// Configures `backend` in Firecracker's order: logger and metrics first (so they see the
    /// rest), then machine, boot source, drives, network interfaces, vsock.
    public func apply(to backend: any VMMBackend) throws {
        if let logger { try backend.configureLogger(logger) }
        if let metrics { try backend.configureMetrics(metrics) }
        if let serial { try backend.configureSerial(serial) }
        if let machineConfig { try backend.setMachineConfig(machineConfig) }
        try backend.setBootSource(bootSource)
        for drive in drives { try backend.putDrive(drive) }
        for interface in networkInterfaces { try backend.putNetworkInterface(interface) }
        if let entropy { try backend.putEntropyDevice(entropy) }
        if let vsock { try backend.putVsock(vsock) }
    }
}

public struct FirecrackerConfigFileError: Error, CustomStringConvertible, Equatable, Sendable {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
