import Devices
import FoundationEssentials

/// Firecracker's `network_overrides` on snapshot load: restore interface `interfaceID` on
/// another host tap, so a clone of a VM does not fight its original over one tap.
public struct NetworkOverride: Sendable, Equatable {
    public var interfaceID: String
    public var tap: String

    public init(interfaceID: String, tap: String) {
        self.interfaceID = interfaceID
        self.tap = tap
    }

    static func key(_ interfaceID: String) -> String { "virtio-net:\(interfaceID)" }

    /// Refuses an override naming an interface the snapshot does not have (a typo would
    /// otherwise silently reopen the original tap).
    static func check(_ overrides: [NetworkOverride], against states: DeviceStateSet) throws(MachineError) {
        let keys = Set(states.virtioDevices.map(\.key))
        if let stray = overrides.first(where: { !keys.contains(key($0.interfaceID)) }) {
            throw .device(NetConfigurationError.overrideForUnknownInterface(stray.interfaceID))
        }
    }

    /// `record` with its tap replaced when an override names its interface; unchanged otherwise.
    static func apply(_ overrides: [NetworkOverride], to record: DeviceStateRecord) throws(DeviceStateError) -> DeviceStateRecord {
        guard let override = overrides.last(where: { key($0.interfaceID) == record.key }) else { return record }
        var state = try record.decode(VirtioNet.State.self)
        state.tap = override.tap
        do {
            return DeviceStateRecord(key: record.key, state: try JSONEncoder().encode(state))
        } catch {
            throw .unencodable(key: record.key, reason: "\(error)")
        }
    }
}
