import ControlAPI
import Foundation
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
        var vsock: VsockDevice?
    }

    private let configuration = Mutex(Configuration())
    private let pending: PendingMachine
    private let serialOutput: @Sendable ([UInt8]) -> Void
    private let logger: Logger
    private let kvmDevicePath: String
    /// What carries the VM's virtio devices (`run --transport`).
    private let transport: VirtioTransportKind
    let instanceID: String

    init(
        pending: PendingMachine, instanceID: String, kvmDevicePath: String, transport: VirtioTransportKind = .pci,
        serialOutput: @escaping @Sendable ([UInt8]) -> Void, logger: Logger
    ) {
        self.pending = pending
        self.transport = transport
        self.instanceID = instanceID
        self.kvmDevicePath = kvmDevicePath
        self.serialOutput = serialOutput
        self.logger = logger
    }

    // MARK: - Queries

    func instanceInfo() throws -> InstanceInfo {
        let state = configuration.withLock { $0.rules.state }
        return InstanceInfo(id: instanceID, state: state, vmmVersion: SwiftletVersion.current, appName: "Swiftlet")
    }

    func vmConfiguration() throws -> VMConfiguration {
        configuration.withLock {
            VMConfiguration(bootSource: $0.bootSource, drives: $0.drives, machineConfig: $0.machineConfig, networkInterfaces: $0.networkInterfaces,
                vsock: $0.vsock)
        }
    }

    // MARK: - Pre-boot configuration

    func setMachineConfig(_ value: MachineConfig) throws {
        try configuration.withLock { configuration in
            // The sizes were checked against MachineLimits where they came in (the request
            // body, the config file, the command line).
            try configuration.rules.checkPreBootConfiguration()
            configuration.machineConfig = value
            configuration.rules.recordPreBootConfiguration()
        }
    }

    func setBootSource(_ value: BootSource) throws {
        try configuration.withLock { configuration in
            try configuration.rules.checkPreBootConfiguration()
            configuration.bootSource = value
            configuration.rules.recordPreBootConfiguration(isBootSource: true)
        }
    }

    func putDrive(_ drive: Drive) throws {
        try configuration.withLock { configuration in
            try configuration.rules.checkPreBootConfiguration()
            if let index = configuration.drives.firstIndex(where: { $0.driveID == drive.driveID }) {
                configuration.drives[index] = drive
            } else {
                configuration.drives.append(drive)
            }
            configuration.rules.recordPreBootConfiguration()
        }
    }

    func putNetworkInterface(_ interface: NetworkInterface) throws {
        try configuration.withLock { configuration in
            try configuration.rules.checkPreBootConfiguration()
            if let index = configuration.networkInterfaces.firstIndex(where: { $0.interfaceID == interface.interfaceID }) {
                configuration.networkInterfaces[index] = interface
            } else {
                configuration.networkInterfaces.append(interface)
            }
            configuration.rules.recordPreBootConfiguration()
        }
    }

    /// Only one vsock device, as in Firecracker: a second PUT replaces the first.
    func putVsock(_ vsock: VsockDevice) throws {
        try configuration.withLock { configuration in
            try configuration.rules.checkPreBootConfiguration()
            configuration.vsock = vsock
            configuration.rules.recordPreBootConfiguration()
        }
    }

    // MARK: - Lifecycle

    func instanceStart() throws {
        try configuration.withLock { configuration in
            try configuration.rules.checkInstanceStart()
            guard let bootSource = configuration.bootSource else { throw VMMError("no boot source") }
            // Firecracker puts the root device first; the rest keep their order (vda, vdb, ...).
            let drives = configuration.drives.filter(\.isRootDevice) + configuration.drives.filter { !$0.isRootDevice }
            let rootReadOnly = drives.first(where: \.isRootDevice)?.isReadOnly
            let commandLine = KernelCommandLine.withRootDevice(bootSource.bootArgs ?? KernelCommandLine.default, rootReadOnly: rootReadOnly)
            logger.info("kernel command line: \(commandLine)")
            var build = BootConfiguration(
                kernelPath: bootSource.kernelImagePath,
                initrdPath: bootSource.initrdPath,
                commandLine: commandLine,
                memoryMiB: configuration.machineConfig.memSizeMiB,
                vcpuCount: configuration.machineConfig.vcpuCount,
                disks: drives.map { DiskConfiguration(path: $0.pathOnHost, readOnly: $0.isReadOnly, id: $0.driveID) },
                netInterfaces: configuration.networkInterfaces.map { NetConfiguration(id: $0.interfaceID, tap: $0.hostDeviceName, mac: $0.guestMAC) },
                transport: transport)
            build.vsock = configuration.vsock.map { VsockConfiguration(id: $0.vsockID ?? "vsock", guestCID: $0.guestCID, udsPath: $0.udsPath) }
            let machine = try Machine.boot(build, kvmDevicePath: kvmDevicePath, serialOutput: serialOutput, logger: logger)
            machine.start()
            configuration.rules.recordStarted()
            pending.fulfill(machine)
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
            try requireMachine().createSnapshot(statePath: files.snapshotPath, memoryPath: files.memFilePath)
        }
    }

    func loadSnapshot(_ request: SnapshotLoadRequest) throws {
        try configuration.withLock { configuration in
            try configuration.rules.checkSnapshotLoad()
            let machine = try Machine.restore(
                statePath: request.files.snapshotPath, memoryPath: request.files.memFilePath, kvmDevicePath: kvmDevicePath,
                networkOverrides: request.networkOverrides.map { NetworkOverride(interfaceID: $0.interfaceID, tap: $0.hostDeviceName) },
                serialOutput: serialOutput, logger: logger)
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
