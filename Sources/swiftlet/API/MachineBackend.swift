import ControlAPI
import Devices
import FoundationEssentials
import Logging
import Machine
import Synchronization

/// Connects the control API to the Machine: keeps the pre-boot configuration, enforces
/// Firecracker's lifecycle rules, and builds, pauses, snapshots or restores the VM.
final class MachineBackend: VMMBackend {
    private struct Configuration {
        var rules = VMMStateRules()
        var machineConfig = MachineConfig.firecrackerDefault
        var bootSource: BootSource?
        var drives: [Drive] = []
        var networkInterfaces: [NetworkInterface] = []
        /// What `PUT /logger` set so far, merged, for `GET /vm/config`.
        var logger: LoggerConfig?
        var serial: SerialConfig?
        var entropy: EntropyDevice?
        var vsock: VsockDevice?
    }

    private let configuration = Mutex(Configuration())
    private let pending: PendingMachine
    private let console: ConsoleOutput
    private let logger: Logger
    private let logRouting: LogRouting?
    let apiRequestCounters: APIRequestCounters? = APIRequestCounters()
    let metrics: MetricsReporter
    private let kvmDevicePath: String
    /// What carries the VM's virtio devices (`run --transport`).
    private let transport: VirtioTransportKind
    /// The command line when `boot_args` is absent: Swiftlet's, or Firecracker's in Firecracker mode.
    private let defaultCommandLine: String
    /// `--boot-timer`: boots get Firecracker's boot-timer device, counting from this moment.
    private let bootTimerStart: BootTimer.Instant?
    let instanceID: String

    init(
        pending: PendingMachine, instanceID: String, kvmDevicePath: String, transport: VirtioTransportKind = .pci,
        console: ConsoleOutput, logger: Logger, logRouting: LogRouting? = nil, defaultCommandLine: String = KernelCommandLine.default,
        bootTimerStart: BootTimer.Instant? = nil
    ) {
        self.bootTimerStart = bootTimerStart
        self.defaultCommandLine = defaultCommandLine
        self.pending = pending
        self.transport = transport
        self.instanceID = instanceID
        self.kvmDevicePath = kvmDevicePath
        self.console = console
        self.logger = logger
        self.logRouting = logRouting
        metrics = MetricsReporter { [apiRequestCounters, pending, console] in
            let machine = pending.current
            return FirecrackerMetrics.totals(
                .init(
                    apiRequests: apiRequestCounters?.snapshot ?? [:], exits: machine?.exitCounters.counts, devices: machine?.deviceCounters,
                    serialBytes: console.offeredBytes, serialDroppedBytes: console.droppedBytes))
        }
    }

    /// The guest console's bytes, on a vCPU thread.
    private var serialOutput: @Sendable ([UInt8]) -> Void { { [console] in console.write($0) } }

    // MARK: - Queries

    func instanceInfo() throws -> InstanceInfo {
        let state = configuration.withLock { $0.rules.state }
        return InstanceInfo(id: instanceID, state: state, vmmVersion: SwiftletVersion.current, appName: "Swiftlet")
    }

    func vmConfiguration() throws -> VMConfiguration {
        configuration.withLock {
            VMConfiguration(
                bootSource: $0.bootSource, drives: $0.drives, machineConfig: $0.machineConfig, networkInterfaces: $0.networkInterfaces,
                logger: $0.logger, metrics: metrics.path.map(MetricsConfig.init), serial: $0.serial,
                entropy: $0.entropy, vsock: $0.vsock)
        }
    }

    // MARK: - Pre-boot configuration

    /// Applies `change` if the VM has not started (Firecracker's pre-boot rule). The VM's own
    /// resources count as configuring it, which rules out a later snapshot load; the logger,
    /// metrics and serial output do not, since a launcher sets them before loading one too.
    private func configureBeforeBoot(
        configuresVM: Bool = true, isBootSource: Bool = false, _ change: (inout Configuration) throws -> Void
    ) throws {
        try configuration.withLock { configuration in
            try configuration.rules.checkPreBootConfiguration()
            try change(&configuration)
            if configuresVM { configuration.rules.recordPreBootConfiguration(isBootSource: isBootSource) }
        }
    }

    /// The sizes were checked against MachineLimits where they came in (the request body,
    /// the config file, the command line).
    func setMachineConfig(_ value: MachineConfig) throws {
        try configureBeforeBoot { $0.machineConfig = value }
    }

    func setBootSource(_ value: BootSource) throws {
        try configureBeforeBoot(isBootSource: true) { $0.bootSource = value }
    }

    func putDrive(_ drive: Drive) throws {
        try configureBeforeBoot { configuration in
            if let index = configuration.drives.firstIndex(where: { $0.driveID == drive.driveID }) {
                configuration.drives[index] = drive
            } else {
                configuration.drives.append(drive)
            }
        }
    }

    func putNetworkInterface(_ interface: NetworkInterface) throws {
        try configureBeforeBoot { configuration in
            if let index = configuration.networkInterfaces.firstIndex(where: { $0.interfaceID == interface.interfaceID }) {
                configuration.networkInterfaces[index] = interface
            } else {
                configuration.networkInterfaces.append(interface)
            }
        }
    }

    func putEntropyDevice(_ device: EntropyDevice) throws {
        try configureBeforeBoot { $0.entropy = device }
    }

    // MARK: - Logger, metrics and serial output

    func configureLogger(_ value: LoggerConfig) throws {
        try configureBeforeBoot(configuresVM: false) { configuration in
            guard let logRouting else { throw VMMError("This VMM cannot redirect its log.") }
            do { try logRouting.apply(value) } catch { throw VMMError("Cannot open the log file: \(error)") }
            var merged = configuration.logger ?? LoggerConfig()
            merged.logPath = value.logPath ?? merged.logPath
            merged.level = value.level ?? merged.level
            merged.showLevel = value.showLevel ?? merged.showLevel
            merged.showLogOrigin = value.showLogOrigin ?? merged.showLogOrigin
            configuration.logger = merged
        }
    }

    func configureMetrics(_ value: MetricsConfig) throws {
        try configureBeforeBoot(configuresVM: false) { _ in try metrics.configure(path: value.metricsPath) }
    }

    /// Opened here, so a bad path fails the request, and without blocking: a named pipe
    /// whose reader is not there yet still opens.
    func configureSerial(_ value: SerialConfig) throws {
        try configureBeforeBoot(configuresVM: false) { configuration in
            if let path = value.serialOutPath {
                do { console.redirect(to: try LogFile.open(path).descriptor.rawValue) } catch { throw VMMError("Cannot open serial_out_path: \(error)") }
            }
            configuration.serial = value
        }
    }

    func flushMetrics() throws {
        metrics.flush()
    }

    /// Only one vsock device, as in Firecracker: a second PUT replaces the first.
    func putVsock(_ vsock: VsockDevice) throws {
        try configureBeforeBoot { $0.vsock = vsock }
    }

    // MARK: - Lifecycle

    func instanceStart() throws {
        try configuration.withLock { configuration in
            try configuration.rules.checkInstanceStart()
            guard let bootSource = configuration.bootSource else { throw VMMError("no boot source") }
            // Firecracker puts the root device first; the rest keep their order (vda, vdb, ...).
            let drives = configuration.drives.filter(\.isRootDevice) + configuration.drives.filter { !$0.isRootDevice }
            let rootReadOnly = drives.first(where: \.isRootDevice)?.isReadOnly
            let commandLine = KernelCommandLine.withRootDevice(bootSource.bootArgs ?? defaultCommandLine, rootReadOnly: rootReadOnly)
            logger.info("kernel command line: \(commandLine)")
            var build = BootConfiguration(
                kernelPath: bootSource.kernelImagePath,
                initrdPath: bootSource.initrdPath,
                commandLine: commandLine,
                memoryMiB: configuration.machineConfig.memSizeMiB,
                vcpuCount: configuration.machineConfig.vcpuCount,
                disks: drives.map {
                    DiskConfiguration(
                        path: $0.pathOnHost, readOnly: $0.isReadOnly, id: $0.driveID, rateLimit: $0.rateLimiter,
                        cacheType: VirtioBlock.CacheType($0.cacheType), ioEngine: VirtioBlock.IOEngine($0.ioEngine), direct: $0.direct,
                        queueCount: $0.queueCount)
                },
                netInterfaces: configuration.networkInterfaces.map {
                    NetConfiguration(
                        id: $0.interfaceID, tap: $0.hostDeviceName, mac: $0.guestMAC, receiveRateLimit: $0.receiveRateLimiter,
                        transmitRateLimit: $0.transmitRateLimiter)
                },
                transport: transport, entropy: configuration.entropy != nil, bootTimerStart: bootTimerStart,
                trackDirtyPages: configuration.machineConfig.trackDirtyPages)
            build.vsock = configuration.vsock.map { VsockConfiguration(id: $0.vsockID ?? "vsock", guestCID: $0.guestCID, udsPath: $0.udsPath) }
            let machine = try Machine.boot(build, kvmDevicePath: kvmDevicePath, serialOutput: serialOutput, logger: logger)
            machine.start()
            configuration.rules.recordStarted()
            pending.fulfill(machine)
        }
    }

    func updateDrive(_ update: DriveUpdate) throws {
        try configuration.withLock { configuration in
            try configuration.rules.checkDeviceUpdate()
            try requireMachine().updateDrive(id: update.driveID, path: update.pathOnHost, rateLimit: update.rateLimiter)
            // GET /vm/config shows the drive as it is now (a VM restored from a snapshot has no
            // configured drives to update).
            if let index = configuration.drives.firstIndex(where: { $0.driveID == update.driveID }) {
                if let path = update.pathOnHost { configuration.drives[index].pathOnHost = path }
                if let limit = update.rateLimiter { configuration.drives[index].rateLimiter = limit }
            }
        }
    }

    func updateNetworkInterface(_ update: NetworkInterfaceUpdate) throws {
        try configuration.withLock { configuration in
            try configuration.rules.checkDeviceUpdate()
            try requireMachine().updateNetworkInterface(
                id: update.interfaceID, receiveRateLimit: update.receiveRateLimiter, transmitRateLimit: update.transmitRateLimiter)
            if let index = configuration.networkInterfaces.firstIndex(where: { $0.interfaceID == update.interfaceID }) {
                if let limit = update.receiveRateLimiter { configuration.networkInterfaces[index].receiveRateLimiter = limit }
                if let limit = update.transmitRateLimiter { configuration.networkInterfaces[index].transmitRateLimiter = limit }
            }
        }
    }

    func sendCtrlAltDel() throws {
        let machine = try configuration.withLock { configuration in
            try configuration.rules.checkSendCtrlAltDel()
            return try requireMachine()
        }
        machine.sendCtrlAltDel()
    }

    func pause() throws {
        try configuration.withLock { configuration in
            try configuration.rules.checkPause()
            try requireMachine().pause()
            configuration.rules.recordPaused()
        }
    }

    func resume() throws {
        try configuration.withLock { configuration in
            try configuration.rules.checkResume()
            try requireMachine().resume()
            configuration.rules.recordResumed()
        }
    }

    func createSnapshot(_ files: SnapshotFiles) throws {
        try configuration.withLock { configuration in
            try configuration.rules.checkSnapshotCreate()
            try requireMachine().createSnapshot(
                statePath: files.snapshotPath, memoryPath: files.memFilePath, type: files.snapshotType == .diff ? .diff : .full)
        }
    }

    func loadSnapshot(_ request: SnapshotLoadRequest) throws {
        try configuration.withLock { configuration in
            try configuration.rules.checkSnapshotLoad()
            let machine = try Machine.restore(
                statePath: request.files.snapshotPath, memoryPath: request.files.memFilePath, kvmDevicePath: kvmDevicePath,
                networkOverrides: request.networkOverrides.map { NetworkOverride(interfaceID: $0.interfaceID, tap: $0.hostDeviceName) },
                trackDirtyPages: request.trackDirtyPages, serialOutput: serialOutput, logger: logger)
            machine.start()
            if request.resumeVM { try machine.resume() }
            configuration.rules.recordSnapshotLoaded(resumed: request.resumeVM)
            pending.fulfill(machine)
        }
    }

    private func requireMachine() throws -> Machine {
        guard let machine = pending.current else { throw VMMError("The microVM has not been started.") }
        return machine
    }
}
