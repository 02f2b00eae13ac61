/// A device whose state goes into a snapshot.
///
/// `State` is plain `Codable` data and is checked like guest input when it comes back. There
/// are two ways back, and a device picks the one that matches what defines it:
/// - `RestorableInPlace`: the VMM builds the device as for a boot (it depends on the machine:
///   interrupt lines, guest RAM, a bus slot) and then puts the registers back.
/// - `BuildableFromState`: the state *is* the device's identity (a disk's path, read-only flag
///   and ID), so restore builds the device from it directly, with no configuration round trip.
public protocol Snapshottable: AnyObject {
    associatedtype State: Codable & Sendable
    func saveState() -> State
}

public protocol RestorableInPlace: Snapshottable {
    /// Puts `state` back into a device built for this machine; throws (and changes nothing)
    /// when the state does not fit it.
    func restoreState(_ state: State) throws
}

public protocol BuildableFromState: Snapshottable {
    init(restoring state: State) throws
}
