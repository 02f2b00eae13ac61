#if canImport(Glibc)
import Glibc
#endif

/// Firecracker's `--config-file`: the same resources as the API, in one JSON document with
/// kebab-case section names ("boot-source", "drives", "machine-config") and the API's field
/// names inside. Firecracker starts the VM right after applying it; `apply(to:)` only
/// configures, so the caller decides when to call `instanceStart()`.
public struct FirecrackerConfigFile: Sendable, Equatable {
    public var bootSource: BootSource
    public var drives: [Drive]
    /// nil when the file has no "machine-config" (Firecracker's defaults then apply).
    public var machineConfiguration: MachineConfiguration?

    public init(bootSource: BootSource, drives: [Drive] = [], machineConfiguration: MachineConfiguration? = nil) {
        self.bootSource = bootSource
        self.drives = drives
        self.machineConfiguration = machineConfiguration
    }

    /// Sections Swiftlet does not implement. They are accepted when they configure nothing
    /// (null, an empty list or an empty object), so Firecracker's sample files load; anything
    /// else is refused instead of being silently dropped.
    static let unsupportedSections = [
        "network-interfaces", "vsock", "balloon", "logger", "metrics", "mmds-config", "entropy",
        "cpu-config", "serial", "pmem", "memory-hotplug",
    ]

    /// Config files are small; this only stops a wrong path (a disk image) from being slurped.
    static let maxFileBytes = 1 << 20

    public init(parsing bytes: [UInt8]) throws(FirecrackerConfigFileError) {
        do throws(APIFault) {
            var reader = try JSONObjectReader(
                try JSONValue.parse(bytes, what: "config file"), context: "config file")
            guard let bootJSON = reader.value("boot-source") else {
                throw APIFault("The config file has no \"boot-source\" section; it needs at least a kernel_image_path.")
            }
            bootSource = try BootSource(json: bootJSON)
            machineConfiguration = nil
            if let machineJSON = reader.value("machine-config") {
                machineConfiguration = try MachineConfiguration(json: machineJSON)
            }
            drives = []
            if let drivesJSON = reader.value("drives") {
                guard case .array(let entries) = drivesJSON else {
                    throw APIFault("Invalid config file: \"drives\" must be a list, got \(drivesJSON.typeName).")
                }
                for (index, entry) in entries.enumerated() {
                    let drive = try Drive(json: entry, context: "drives[\(index)]")
                    guard !drives.contains(where: { $0.driveID == drive.driveID }) else {
                        throw APIFault("Invalid config file: drive_id '\(drive.driveID)' appears more than once in \"drives\".")
                    }
                    drives.append(drive)
                }
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

    public init(contentsOf path: String) throws(FirecrackerConfigFileError) {
        let bytes: [UInt8]
        do {
            bytes = try Self.readFile(path)
        } catch {
            throw FirecrackerConfigFileError("Cannot read the config file \(path): \(error.message)")
        }
        do {
            try self.init(parsing: bytes)
        } catch {
            throw FirecrackerConfigFileError("\(path): \(error.message)")
        }
    }

    /// Configures `backend` in Firecracker's order: machine, boot source, drives.
    public func apply(to backend: any VMMBackend) throws {
        if let machineConfiguration { try backend.setMachineConfiguration(machineConfiguration) }
        try backend.setBootSource(bootSource)
        for drive in drives { try backend.putDrive(drive) }
    }

    private static func readFile(_ path: String) throws(FirecrackerConfigFileError) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw FirecrackerConfigFileError(String(cString: strerror(errno))) }
        defer { close(fd) }
        var contents: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw FirecrackerConfigFileError(String(cString: strerror(errno)))
            }
            if count == 0 { return contents }
            contents.append(contentsOf: chunk[0..<count])
            guard contents.count <= maxFileBytes else {
                throw FirecrackerConfigFileError("it is larger than \(maxFileBytes) bytes; is it really a config file?")
            }
        }
    }
}

public struct FirecrackerConfigFileError: Error, CustomStringConvertible, Equatable, Sendable {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
