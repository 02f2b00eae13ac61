import SwiftletCore

/// Maps an HTTP method, target and body to an `APIRequest`, validating the body on the way.
/// Pure (no I/O), so every route and refusal can be tested without a socket.
enum APIRouter {

    static func route(method: String, target: String, body: [UInt8]) throws(APIFault) -> APIRequest {
        // Firecracker ignores query strings; so do we. Empty segments ("//", trailing "/") too.
        let path = target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        let segments = path.split(separator: "/").map(String.init)
        let normalized = segments.joined(separator: "/")

        if method == "PUT", segments.count == 2, segments[0] == "drives" {
            let id = segments[1]
            let drive = try Drive(json: try parse(body, "drive"), context: "drive")
            guard drive.driveID == id else {
                throw APIFault("The drive_id in the body ('\(drive.driveID)') does not match the one in the path ('\(id)').")
            }
            return .putDrive(drive)
        }
        if method == "PATCH", segments.count == 2, segments[0] == "drives" {
            let update = try DriveUpdate(json: try parse(body, "drive"))
            guard update.driveID == segments[1] else {
                throw APIFault("The drive_id in the body ('\(update.driveID)') does not match the one in the path ('\(segments[1])').")
            }
            return .patchDrive(update)
        }
        if method == "PUT", segments.count == 2, segments[0] == "network-interfaces" {
            let id = segments[1]
            let interface = try NetworkInterface(json: try parse(body, "network-interfaces"), context: "network-interfaces")
            guard interface.interfaceID == id else {
                throw APIFault("The iface_id in the body ('\(interface.interfaceID)') does not match the one in the path ('\(id)').")
            }
            return .putNetworkInterface(interface)
        }
        if method == "PATCH", segments.count == 2, segments[0] == "network-interfaces" {
            let update = try NetworkInterfaceUpdate(json: try parse(body, "network-interfaces"))
            guard update.interfaceID == segments[1] else {
                throw APIFault("The iface_id in the body ('\(update.interfaceID)') does not match the one in the path ('\(segments[1])').")
            }
            return .patchNetworkInterface(update)
        }
        switch (method, normalized) {
        case ("GET", ""): return .getInstanceInfo
        case ("GET", "version"): return .getVersion
        case ("GET", "vm/config"): return .getVMConfiguration
        case ("GET", "machine-config"): return .getMachineConfig
        case ("PUT", "machine-config"):
            return .putMachineConfig(try MachineConfig(json: try parse(body, "machine-config")))
        case ("PATCH", "machine-config"):
            return .patchMachineConfig(try MachineConfigUpdate(json: try parse(body, "machine-config")))
        case ("PUT", "vsock"):
            return .putVsock(try VsockDevice(json: try parse(body, "vsock"), context: "vsock"))
        case ("PUT", "boot-source"):
            return .putBootSource(try BootSource(json: try parse(body, "boot-source")))
        case ("PUT", "actions"):
            return try action(try parse(body, "actions"))
        case ("PATCH", "vm"):
            return try vmState(try parse(body, "vm"))
        case ("PUT", "snapshot/create"):
            return .createSnapshot(try SnapshotFiles(createRequest: try parse(body, "snapshot/create")))
        case ("PUT", "snapshot/load"):
            return .loadSnapshot(try SnapshotLoadRequest(json: try parse(body, "snapshot/load")))
        case ("PUT", "logger"):
            return .putLogger(try LoggerConfig(json: try parse(body, "logger")))
        case ("PUT", "entropy"):
            return .putEntropy(try EntropyDevice(json: try parse(body, "entropy")))
        case ("PUT", "serial"):
            return .putSerial(try SerialConfig(json: try parse(body, "serial")))
        case ("PUT", "metrics"):
            return .putMetrics(try MetricsConfig(json: try parse(body, "metrics")))
        default:
            throw APIFault("Invalid request method and/or path: \(method) \(path).")
        }
    }

    private static func parse(_ body: [UInt8], _ what: String) throws(APIFault) -> JSONValue {
        try JSONValue.parse(body, what: "\(what) request body")
    }

    private static func action(_ json: JSONValue) throws(APIFault) -> APIRequest {
        switch try onlyString("action_type", of: json, context: "actions") {
        case "InstanceStart": return .instanceStart
        case "SendCtrlAltDel": return .sendCtrlAltDel
        case "FlushMetrics": return .flushMetrics
        case let type:
            throw APIFault(
                "Invalid actions: unknown action_type '\(type)'; expected InstanceStart, SendCtrlAltDel or FlushMetrics.")
        }
    }

    private static func vmState(_ json: JSONValue) throws(APIFault) -> APIRequest {
        switch try onlyString("state", of: json, context: "vm") {
        case "Paused": return .pause
        case "Resumed": return .resume
        case let state: throw APIFault("Invalid vm: unknown state '\(state)'; expected Paused or Resumed.")
        }
    }

    /// The one string member an object must have, and nothing else.
    private static func onlyString(_ key: String, of json: JSONValue, context: String) throws(APIFault) -> String {
        var reader = try JSONObjectReader(json, context: context)
        let value = try reader.required(key, .string)
        try reader.rejectUnknownFields()
        return value
    }
}
