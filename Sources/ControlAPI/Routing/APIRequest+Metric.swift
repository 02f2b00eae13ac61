extension APIRequest {
    /// Where the metrics count this request (Firecracker's group and counter names).
    var metric: APIRouteMetric {
        switch self {
        case .getInstanceInfo: .get("instance_info")
        case .getVersion: .get("vmm_version")
        case .getVMConfiguration: .get("vm_config")
        case .getMachineConfig: .get("machine_cfg")
        case .putMachineConfig: .put("machine_cfg")
        case .putBootSource: .put("boot_source")
        case .putDrive: .put("drive")
        case .patchDrive: .patch("drive")
        case .putNetworkInterface: .put("network")
        case .patchNetworkInterface: .patch("network")
        case .instanceStart, .sendCtrlAltDel, .flushMetrics: .put("actions")
        case .pause, .resume: .patch("vm")
        case .createSnapshot: .put("snapshot_create")
        case .loadSnapshot: .put("snapshot_load")
        case .putLogger: .put("logger")
        case .putMetrics: .put("metrics")
        case .patchMachineConfig: .patch("machine_cfg")
        case .putSerial: .put("serial")
        case .putEntropy: .put("entropy")
        case .putVsock: .put("vsock")
        }
    }
}
