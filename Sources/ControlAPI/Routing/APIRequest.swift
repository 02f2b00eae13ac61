import SwiftletCore

/// A request that passed routing and body validation, ready for the backend.
enum APIRequest: Equatable, Sendable {
    case getInstanceInfo
    case getVersion
    case getVMConfiguration
    case getMachineConfig
    case putMachineConfig(MachineConfig)
    case putBootSource(BootSource)
    case putDrive(Drive)
    case patchDrive(DriveUpdate)
    case putNetworkInterface(NetworkInterface)
    case patchNetworkInterface(NetworkInterfaceUpdate)
    case putVsock(VsockDevice)
    case instanceStart
    case sendCtrlAltDel
    case flushMetrics
    case pause
    case resume
    case createSnapshot(SnapshotFiles)
    case loadSnapshot(SnapshotLoadRequest)
    case putLogger(LoggerConfig)
    case putMetrics(MetricsConfig)
    case patchMachineConfig(MachineConfigUpdate)
    case putSerial(SerialConfig)
    case putEntropy(EntropyDevice)
}

/// What goes back to the client: a status and an optional JSON body.
struct APIResponse: Equatable, Sendable {
    var status: UInt
    var body: JSONValue?

    static let noContent = APIResponse(status: 204, body: nil)
    static func ok(_ body: JSONValue) -> APIResponse { APIResponse(status: 200, body: body) }
    static func fault(_ fault: APIFault) -> APIResponse {
        APIResponse(status: fault.status, body: .object(["fault_message": .string(fault.message)]))
    }
}

extension APIRequest {
    /// Runs the request against the backend; any backend error becomes a 400 fault. Counts
    /// the request in the backend's metrics. Blocking: call it on the backend queue, not on
    /// an event loop.
    func perform(on backend: any VMMBackend) -> APIResponse {
        let response = respond(on: backend)
        backend.apiRequestCounters?.record(metric, failed: response.status >= 400)
        return response
    }

    private func respond(on backend: any VMMBackend) -> APIResponse {
        do {
            switch self {
            case .getInstanceInfo:
                return .ok(try backend.instanceInfo().jsonValue)
            case .getVersion:
                let version = try backend.instanceInfo().vmmVersion
                // Firecracker clients read "firecracker_version"; report ours under both names.
                return .ok(.object(["firecracker_version": .string(version), "vmm_version": .string(version)]))
            case .getVMConfiguration:
                return .ok(try backend.vmConfiguration().jsonValue)
            case .getMachineConfig:
                return .ok(try backend.vmConfiguration().machineConfig.jsonValue)
            case .putMachineConfig(let configuration):
                try backend.setMachineConfig(configuration)
            case .putBootSource(let bootSource):
                try backend.setBootSource(bootSource)
            case .putDrive(let drive):
                try backend.putDrive(drive)
            case .patchDrive(let update):
                try backend.updateDrive(update)
            case .putNetworkInterface(let interface):
                try backend.putNetworkInterface(interface)
            case .patchNetworkInterface(let update):
                try backend.updateNetworkInterface(update)
            case .putVsock(let vsock):
                try backend.putVsock(vsock)
            case .instanceStart:
                try backend.instanceStart()
            case .sendCtrlAltDel:
                try backend.sendCtrlAltDel()
            case .flushMetrics:
                try backend.flushMetrics()
            case .pause:
                try backend.pause()
            case .resume:
                try backend.resume()
            case .createSnapshot(let request):
                try backend.createSnapshot(request)
            case .loadSnapshot(let request):
                try backend.loadSnapshot(request)
            case .putLogger(let configuration):
                try backend.configureLogger(configuration)
            case .putMetrics(let configuration):
                try backend.configureMetrics(configuration)
            case .patchMachineConfig(let update):
                try backend.updateMachineConfig(update)
            case .putSerial(let configuration):
                try backend.configureSerial(configuration)
            case .putEntropy(let device):
                try backend.putEntropyDevice(device)
            }
            return .noContent
        } catch {
            let message = String(describing: error)
            return .fault(APIFault(message.isEmpty ? "The VMM refused the request." : message))
        }
    }
}
