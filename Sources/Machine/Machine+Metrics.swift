import Devices

/// What the metrics read from a running VM's devices, by the user's name for each device.
public struct MachineDeviceCounters: Sendable {
    public var disks: [(id: String, counters: VirtioBlock.Counters)] = []
    public var netInterfaces: [(id: String, counters: VirtioNet.Counters)] = []
    public var entropy: VirtioRng.Counters?

    public init() {}
}

extension Machine {
    /// The counters of every virtio device, whichever transport carries it.
    public var deviceCounters: MachineDeviceCounters {
        let devices = pci.virtioFunctions.map { ($0.name, $0.device) } + virtioMMIO.virtioFunctions.map { ($0.name, $0.device) }
        var result = MachineDeviceCounters()
        for (name, device) in devices {
            if let disk = device as? VirtioBlock { result.disks.append((name, disk.counters)) }
            if let interface = device as? VirtioNet { result.netInterfaces.append((name, interface.counters)) }
            if let rng = device as? VirtioRng { result.entropy = rng.counters }
        }
        return result
    }
}
