/// What the control API needs from the VMM. The Machine module adapts itself to this protocol,
/// so ControlAPI never depends on it.
///
/// Threading contract:
/// - Every method is called on one dedicated serial dispatch queue owned by `APIServer`, never
///   on the NIO event loop and never on the Swift concurrency pool, so a method may block (for
///   example while waiting for vCPUs to pause, or while writing a multi-GiB memory file).
/// - Calls are serialized: the next request is not dispatched before the previous call returns,
///   which is the ordering Firecracker guarantees to its clients too.
///
/// Errors: a thrown error's `description` (`String(describing:)`) becomes the response's
/// `fault_message`, with HTTP 400. `VMMError` is a ready-made error carrying just a message.
///
/// State rules: JSON shape and field validation happen before the backend is called; the
/// lifecycle rules (which call is allowed in which state) are the backend's to enforce, most
/// simply by keeping a `VMMStateRules` value and calling its `check…`/`record…` methods.
public protocol VMMBackend: Sendable {
    /// `GET /` (and the version for `GET /version`).
    func instanceInfo() throws -> InstanceInfo
    /// `GET /vm/config` and `GET /machine-config`.
    func vmConfiguration() throws -> VMConfiguration
    /// `PUT /machine-config`; pre-boot only.
    func setMachineConfig(_ config: MachineConfig) throws
    /// `PATCH /machine-config`: changes the given fields; pre-boot only. The default reads the
    /// current configuration and puts it back changed (calls are serialized, so nothing
    /// comes between the two).
    func updateMachineConfig(_ update: MachineConfigUpdate) throws
    /// `PUT /boot-source`; pre-boot only.
    func setBootSource(_ bootSource: BootSource) throws
    /// `PUT /drives/{drive_id}`: adds the drive or replaces the one with the same id; pre-boot only.
    func putDrive(_ drive: Drive) throws
    /// `PATCH /drives/{drive_id}`: a new backing file for a drive of the running (or paused)
    /// VM; only after boot. The default refuses.
    func updateDrive(_ update: DriveUpdate) throws
    /// `PUT /network-interfaces/{iface_id}`: adds the interface or replaces the one with the
    /// same id; pre-boot only. The default refuses: a backend without networking says so.
    func putNetworkInterface(_ interface: NetworkInterface) throws
    /// `PATCH /network-interfaces/{iface_id}`: new rate limiters for an interface of the
    /// running (or paused) VM; only after boot. The default refuses.
    func updateNetworkInterface(_ update: NetworkInterfaceUpdate) throws
    /// `PUT /vsock`: sets (or replaces) the VM's vsock device; pre-boot only. The default refuses.
    func putVsock(_ vsock: VsockDevice) throws
    /// `PUT /actions {"action_type": "InstanceStart"}`: boots the configured VM. Returns once
    /// the vCPUs are running (the guest boots asynchronously), like Firecracker.
    func instanceStart() throws
    /// `PUT /actions {"action_type": "SendCtrlAltDel"}`: asks the guest to reboot via the i8042.
    func sendCtrlAltDel() throws
    /// `PUT /actions {"action_type": "FlushMetrics"}`: writes a metrics line now. The default
    /// implementation (a backend without metrics) accepts and does nothing.
    func flushMetrics() throws
    /// `PATCH /vm {"state": "Paused"}`: returns once every vCPU is stopped.
    func pause() throws
    /// `PATCH /vm {"state": "Resumed"}`.
    func resume() throws
    /// `PUT /snapshot/create`; only while paused.
    func createSnapshot(_ files: SnapshotFiles) throws
    /// `PUT /snapshot/load`; only on a fresh VMM with nothing configured.
    func loadSnapshot(_ request: SnapshotLoadRequest) throws
    /// `PUT /logger`: where the log goes, its level and line format. The default refuses.
    func configureLogger(_ configuration: LoggerConfig) throws
    /// `PUT /entropy`: adds the virtio-rng device; pre-boot only. The default refuses.
    func putEntropyDevice(_ device: EntropyDevice) throws
    /// `PUT /serial`: where the guest console goes; pre-boot only. The default refuses.
    func configureSerial(_ configuration: SerialConfig) throws
    /// `PUT /metrics`: starts writing metrics lines to a file. The default refuses.
    func configureMetrics(_ configuration: MetricsConfig) throws
    /// Where `APIRequest.perform` counts the requests it answers; nil counts nothing.
    var apiRequestCounters: APIRequestCounters? { get }
}

extension VMMBackend {
    public func flushMetrics() throws {}

    public func putNetworkInterface(_ interface: NetworkInterface) throws {
        throw VMMError("This VMM has no network interfaces.")
    }

    public func updateDrive(_ update: DriveUpdate) throws {
        throw VMMError("This VMM cannot change a drive after boot.")
    }

    public func updateNetworkInterface(_ update: NetworkInterfaceUpdate) throws {
        throw VMMError("This VMM has no network interfaces.")
    }

    public func updateMachineConfig(_ update: MachineConfigUpdate) throws {
        try setMachineConfig(update.applied(to: try vmConfiguration().machineConfig))
    }

    public func configureLogger(_ configuration: LoggerConfig) throws {
        throw VMMError("This VMM cannot redirect its log.")
    }

    public func putEntropyDevice(_ device: EntropyDevice) throws {
        throw VMMError("This VMM has no entropy device.")
    }

    public func configureSerial(_ configuration: SerialConfig) throws {
        throw VMMError("This VMM cannot redirect the serial console.")
    }

    public func configureMetrics(_ configuration: MetricsConfig) throws {
        throw VMMError("This VMM writes no metrics.")
    }

    public var apiRequestCounters: APIRequestCounters? { nil }
    public func putVsock(_ vsock: VsockDevice) throws {
        throw VMMError("This VMM has no vsock device.")
    }
}

/// An error whose message is shown to the API client verbatim as `fault_message`.
public struct VMMError: Error, CustomStringConvertible, Equatable, Sendable {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
