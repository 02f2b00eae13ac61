/// Firecracker's lifecycle rules, as a value the backend keeps next to its VM (under its own
/// lock). Each operation is split into `check…` (throws the message the client should see)
/// and `record…` (called only after the operation succeeded), so a failed operation does not
/// move the state.
///
/// The rules:
/// - machine-config, boot-source and drives: only before InstanceStart and before a snapshot
///   was loaded ("pre-boot").
/// - InstanceStart: once, needs a boot source, not after a snapshot load.
/// - pause, resume, SendCtrlAltDel: only once the VM runs (started or loaded); pausing a paused
///   VM and resuming a running one succeed and change nothing, as in Firecracker.
/// - snapshot/create: only while paused.
/// - snapshot/load: only on a fresh VMM: nothing configured, not started, nothing loaded yet.
public struct VMMStateRules: Sendable, Equatable {
    public private(set) var state: InstanceState = .notStarted
    /// Some pre-boot resource (machine-config, boot-source, drive) was set.
    public private(set) var isConfigured = false
    public private(set) var hasBootSource = false
    public private(set) var wasLoadedFromSnapshot = false

    public init() {}

    /// Before machine-config, boot-source or a drive.
    public func checkPreBootConfiguration() throws(VMMError) {
        guard state == .notStarted, !wasLoadedFromSnapshot else {
            throw VMMError("The requested operation is not supported after starting the microVM.")
        }
    }

    public mutating func recordPreBootConfiguration(isBootSource: Bool = false) {
        isConfigured = true
        if isBootSource { hasBootSource = true }
    }

    public func checkInstanceStart() throws(VMMError) {
        guard state == .notStarted, !wasLoadedFromSnapshot else {
            throw VMMError("The microVM is already running; InstanceStart can only be called once.")
        }
        guard hasBootSource else {
            throw VMMError("Cannot start the microVM without a boot source; PUT /boot-source first.")
        }
    }

    public mutating func recordStarted() { state = .running }

    public func checkPause() throws(VMMError) { try checkRunningOrPaused() }
    public mutating func recordPaused() { state = .paused }

    public func checkResume() throws(VMMError) { try checkRunningOrPaused() }
    public mutating func recordResumed() { state = .running }

    /// `PATCH /drives` and `PATCH /network-interfaces`: Firecracker changes devices this way
    /// only once the VM exists (before that, a `PUT` replaces the whole device).
    public func checkDeviceUpdate() throws(VMMError) {
        guard state != .notStarted else {
            throw VMMError("The requested operation is not supported before starting the microVM; a PUT replaces a device before boot.")
        }
    }

    public func checkSendCtrlAltDel() throws(VMMError) {
        guard state == .running else {
            throw state == .notStarted
                ? VMMError("The requested operation is not supported before starting the microVM.")
                : VMMError("SendCtrlAltDel needs a running microVM; it is paused.")
        }
    }

    public func checkSnapshotCreate() throws(VMMError) {
        guard state == .paused else {
            throw state == .notStarted
                ? VMMError("Cannot create a snapshot: the microVM has not been started.")
                : VMMError("Cannot create a snapshot: the microVM is not paused; PATCH /vm {\"state\": \"Paused\"} first.")
        }
    }

    public func checkSnapshotLoad() throws(VMMError) {
        guard state == .notStarted, !wasLoadedFromSnapshot else {
            throw VMMError("Loading a snapshot is only allowed on a fresh VMM; this one already runs a microVM.")
        }
        guard !isConfigured else {
            throw VMMError("Loading a microVM snapshot is not allowed after configuring boot-specific resources.")
        }
    }

    public mutating func recordSnapshotLoaded(resumed: Bool) {
        wasLoadedFromSnapshot = true
        state = resumed ? .running : .paused
    }

    private func checkRunningOrPaused() throws(VMMError) {
        guard state != .notStarted else {
            throw VMMError("The requested operation is not supported before starting the microVM.")
        }
    }
}
