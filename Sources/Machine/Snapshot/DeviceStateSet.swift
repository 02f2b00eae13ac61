/// A snapshot's device states after their keys were checked: every key this VM needs is
/// there exactly once, and there is no other.
///
/// Which keys are needed follows from the virtio devices in the snapshot: the fixed devices,
/// each virtio device ("virtio-blk:rootfs"), and one transport per virtio device
/// ("virtio-pci:0", … or "virtio-mmio:0", …, in the order the devices appear, which is their
/// slot or window order). A VM has one transport for all its devices.
struct DeviceStateSet {
    private let records: [String: DeviceStateRecord]
    /// The virtio devices' records in slot order.
    let virtioDevices: [DeviceStateRecord]
    /// The transport the saved VM used: virtio-mmio if its first transport state says so.
    let transport: VirtioTransportKind

    init(_ list: [DeviceStateRecord]) throws(DeviceStateError) {
        var records: [String: DeviceStateRecord] = [:]
        for record in list {
            guard records[record.key] == nil else { throw .duplicate(record.key) }
            records[record.key] = record
        }
        let virtioDevices = list.filter { VirtioDeviceKind.builder(forKey: $0.key) != nil }
        let transport: VirtioTransportKind = records[DeviceStateKey.virtioMMIO(0)] != nil ? .mmio : .pci
        let transports = DeviceStateKey.transports(transport, count: virtioDevices.count)
        let required = DeviceStateKey.fixed + transports
        if let missing = required.first(where: { records[$0] == nil }) { throw .missing(missing) }
        let known = Set(required + virtioDevices.map(\.key))
        if let unknown = list.first(where: { !known.contains($0.key) }) { throw .unknown(unknown.key) }
        self.records = records
        self.virtioDevices = virtioDevices
        self.transport = transport
    }

    /// The decoded state under `key`, which the initialiser checked is present.
    func state<State: Decodable>(_ key: String, as type: State.Type) throws(DeviceStateError) -> State {
        guard let record = records[key] else { throw .missing(key) }
        return try record.decode(type)
    }

    /// Rebuilds the virtio devices from their states, in slot order; `adjust` may rewrite a
    /// record first (a network override points an interface at another tap).
    func buildVirtioDevices(
        adjust: (DeviceStateRecord) throws(DeviceStateError) -> DeviceStateRecord = { $0 }
    ) throws(DeviceStateError) -> [(name: String, device: any SnapshottableVirtioDevice)] {
        var devices: [(name: String, device: any SnapshottableVirtioDevice)] = []
        for saved in virtioDevices {
            let record = try adjust(saved)
            guard let (name, build) = VirtioDeviceKind.builder(forKey: record.key) else { throw .unknown(record.key) }
            devices.append((name, try build(record)))
        }
        return devices
    }
}
