import Devices

/// A virtio device a snapshot can carry: it saves its state, and its kind knows how to
/// rebuild it from that state.
typealias SnapshottableVirtioDevice = VirtioDevice & Snapshottable

/// The virtio device types a snapshot can rebuild, by the `name` each device reports.
/// Adding a device type (net, vsock, rng) is one entry here.
enum VirtioDeviceKind {
    typealias Builder = @Sendable (DeviceStateRecord) throws(DeviceStateError) -> any SnapshottableVirtioDevice

    private static let builders: [String: Builder] = [
        "virtio-blk": { record throws(DeviceStateError) in try record.build(VirtioBlock.self) },
        "virtio-net": { record throws(DeviceStateError) in try record.build(VirtioNet.self) },
        "virtio-rng": { record throws(DeviceStateError) in try record.build(VirtioRng.self) },
        "virtio-vsock": { record throws(DeviceStateError) in try record.build(VirtioVsock.self) },
    ]

    /// The key a device's state is saved under: its type, then the user's name for it.
    static func key(device: any VirtioDevice, name: String) -> String { "\(device.name):\(name)" }

    /// The user's name and the builder for a device key such as "virtio-blk:rootfs"; nil
    /// when the key names no virtio device type this Swiftlet knows.
    static func builder(forKey key: String) -> (name: String, build: Builder)? {
        guard let colon = key.firstIndex(of: ":"), let build = builders[String(key[..<colon])] else { return nil }
        return (String(key[key.index(after: colon)...]), build)
    }
}
