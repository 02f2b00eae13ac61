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
        var machineConfiguration = ControlAPI.MachineConfiguration.firecrackerDefault
        var bootSource: BootSource?
        var drives: [Drive] = []
    }

    private let configuration = Mutex(Configuration())
    private let slot: MachineSlot
    private let serialOutput: @Sendable ([UInt8]) -> Void
    private let logger: Logger
    /// What carries the VM's virtio devices (`run --transport`).
    private let transport: VirtioTransportKind
    let instanceID: String

    init(
        slot: MachineSlot, instanceID: String, transport: VirtioTransportKind = .pci, serialOutput: @escaping @Sendable ([UInt8]) -> Void,
        logger: Logger
    ) {
        self.slot = slot
        self.transport = transport
        self.instanceID = instanceID
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
            VMConfiguration(bootSource: $0.bootSource, drives: $0.drives, machineConfiguration: $0.machineConfiguration)
        }
    }

    // MARK: - Pre-boot configuration

    func setMachineConfiguration(_ value: ControlAPI.MachineConfiguration) throws {
        try configuration.withLock { configuration in
            try configuration.rules.checkPreBootConfiguration()
            guard VMBuildConfiguration.memoryRangeMiB.contains(value.memSizeMiB) else {
                throw VMMError("mem_size_mib must be between \(VMBuildConfiguration.memoryRangeMiB.lowerBound) and \(VMBuildConfiguration.memoryRangeMiB.upperBound)")
            }
            configuration.machineConfiguration = value
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

    // MARK: - Lifecycle

    func instanceStart() throws {
        try configuration.withLock { configuration in
            try configuration.rules.checkInstanceStart()
            guard let bootSource = configuration.bootSource else { throw VMMError("no boot source") }
            // Firecracker puts the root device first; the rest keep their order (vda, vdb, ...).
            let drives = configuration.drives.filter(\.isRootDevice) + configuration.drives.filter { !$0.isRootDevice }
            let build = VMBuildConfiguration(
                kernelPath: bootSource.kernelImagePath,
                initrdPath: bootSource.initrdPath,
                commandLine: bootSource.bootArgs ?? "",
                memoryMiB: configuration.machineConfiguration.memSizeMiB,
                vcpuCount: configuration.machineConfiguration.vcpuCount,
                disks: drives.map { DiskConfiguration(path: $0.pathOnHost, readOnly: $0.isReadOnly, id: $0.driveID) },
                transport: transport)
            let machine = try Machine.boot(build, serialOutput: serialOutput, logger: logger)
            machine.start()
            configuration.rules.recordStarted()
            slot.fill(machine)
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

    func createSnapshot(_ request: SnapshotCreateRequest) throws {
        try configuration.withLock { configuration in
            try configuration.rules.checkSnapshotCreate()
            try requireMachine().createSnapshot(statePath: request.snapshotPath, memoryPath: request.memFilePath)
        }
    }

    func loadSnapshot(_ request: SnapshotLoadRequest) throws {
        try configuration.withLock { configuration in
            try configuration.rules.checkSnapshotLoad()
            let machine = try Machine.restore(
                statePath: request.snapshotPath, memoryPath: request.memFilePath, serialOutput: serialOutput, logger: logger)
            machine.start()
            if request.resumeVM { try machine.resume() }
            configuration.rules.recordSnapshotLoaded(resumed: request.resumeVM)
            slot.fill(machine)
        }
    }

    private func requireMachine() throws -> Machine {
        guard let machine = slot.current else { throw VMMError("The microVM has not been started.") }
        return machine
    }
}
