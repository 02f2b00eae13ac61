import Devices
import FoundationEssentials

/// One device's saved state in a snapshot, under a stable key.
///
/// The snapshot's device list is a list of these rather than a struct with a field per
/// device, so adding a device adds an entry, not a field; and restore can say exactly which
/// device is missing or was not expected.
struct DeviceStateRecord: Codable, Equatable {
    var key: String
    /// The device's `State`, JSON-encoded.
    var state: Data

    init(key: String, state: Data) {
        self.key = key
        self.state = state
    }

    init<Device: Snapshottable>(key: String, saving device: Device) throws(DeviceStateError) {
        self.key = key
        do {
            state = try JSONEncoder().encode(device.saveState())
        } catch {
            throw .unencodable(key: key, reason: "\(error)")
        }
    }

    func decode<State: Decodable>(_: State.Type) throws(DeviceStateError) -> State {
        do {
            return try JSONDecoder().decode(State.self, from: state)
        } catch {
            throw .undecodable(key: key, reason: "\(error)")
        }
    }

    /// Builds the device this state describes (a disk from its path, flag and ID).
    func build<Device: BuildableFromState>(_: Device.Type) throws(DeviceStateError) -> Device {
        let state = try decode(Device.State.self)
        do {
            return try Device(restoring: state)
        } catch {
            throw .unbuildable(key: key, reason: "\(error)")
        }
    }
}

/// The keys of the devices every VM has, and of the virtio transports.
enum DeviceStateKey {
    static let serial = "serial"
    static let i8042 = "i8042"
    static let pciConfigIO = "pci-config-io"
    static let pciRoot = "pci-root"
    static let fixed = [serial, i8042, pciConfigIO, pciRoot]

    /// The transport of the `index`-th virtio device (in slot order).
    static func virtioPCI(_ index: Int) -> String { "virtio-pci:\(index)" }

    /// The virtio-mmio transport of the `index`-th virtio device (in window order).
    static func virtioMMIO(_ index: Int) -> String { "virtio-mmio:\(index)" }

    /// The transport keys of `count` virtio devices on `transport`.
    static func transports(_ transport: VirtioTransportKind, count: Int) -> [String] {
        (0..<count).map(transport == .pci ? virtioPCI : virtioMMIO)
    }
}

/// Why a snapshot's device states cannot be used.
enum DeviceStateError: Error, Equatable, CustomStringConvertible {
    case missing(String)
    case unknown(String)
    case duplicate(String)
    case undecodable(key: String, reason: String)
    case unencodable(key: String, reason: String)
    case unbuildable(key: String, reason: String)
    case refused(key: String, reason: String)

    var description: String {
        switch self {
        case .missing(let key): return "device state \"\(key)\" is missing"
        case .unknown(let key): return "device state \"\(key)\" belongs to no device this Swiftlet knows"
        case .duplicate(let key): return "device state \"\(key)\" appears twice"
        case .undecodable(let key, let reason): return "device state \"\(key)\" does not decode: \(reason)"
        case .unencodable(let key, let reason): return "device state \"\(key)\" does not encode: \(reason)"
        case .unbuildable(let key, let reason): return "device \"\(key)\" cannot be rebuilt: \(reason)"
        case .refused(let key, let reason): return "device state \"\(key)\" was refused: \(reason)"
        }
    }
}
