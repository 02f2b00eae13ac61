import ControlAPI
import Foundation
import Synchronization

/// A backend that records every call and enforces the lifecycle with `VMMStateRules`, so the
/// server tests see the same refusals a real VMM gives.
final class FakeBackend: VMMBackend {
    enum Call: Equatable, Sendable {
        case machineConfig(MachineConfig)
        case bootSource(BootSource)
        case drive(Drive)
        case networkInterface(NetworkInterface)
        case vsock(VsockDevice)
        case instanceStart, sendCtrlAltDel, flushMetrics, pause, resume
        case createSnapshot(SnapshotFiles)
        case loadSnapshot(SnapshotLoadRequest)
        case logger(LoggerConfig)
        case metrics(MetricsConfig)
        case serial(SerialConfig)
        case entropy(EntropyDevice)
    }

    private struct State {
        var calls: [Call] = []
        var rules = VMMStateRules()
        var configuration = VMConfiguration()
    }

    private let state = Mutex(State())
    /// Runs inside `sendCtrlAltDel()`, on the backend queue (e.g. to stop the server from there).
    let ctrlAltDelHook = Mutex<(@Sendable () -> Void)?>(nil)
    /// How long `pause()` blocks, to show the event loop keeps serving meanwhile.
    let pauseDelay: Duration

    init(pauseDelay: Duration = .zero) {
        self.pauseDelay = pauseDelay
    }

    var calls: [Call] { state.withLock { $0.calls } }

    let apiRequestCounters: APIRequestCounters? = APIRequestCounters()

    func instanceInfo() throws -> InstanceInfo {
        InstanceInfo(id: "fake-vm", state: state.withLock { $0.rules.state }, vmmVersion: "0.1.0-test")
    }

    func vmConfiguration() throws -> VMConfiguration { state.withLock { $0.configuration } }

    func setMachineConfig(_ configuration: MachineConfig) throws {
        try state.withLock { state in
            state.calls.append(.machineConfig(configuration))
            try state.rules.checkPreBootConfiguration()
            state.configuration.machineConfig = configuration
            state.rules.recordPreBootConfiguration()
        }
    }

    func setBootSource(_ bootSource: BootSource) throws {
        try state.withLock { state in
            state.calls.append(.bootSource(bootSource))
            try state.rules.checkPreBootConfiguration()
            state.configuration.bootSource = bootSource
            state.rules.recordPreBootConfiguration(isBootSource: true)
        }
    }

    func putNetworkInterface(_ interface: NetworkInterface) throws {
        try state.withLock { state in
            state.calls.append(.networkInterface(interface))
            try state.rules.checkPreBootConfiguration()
            state.configuration.networkInterfaces.append(interface)
            state.rules.recordPreBootConfiguration()
        }
    }

    func putVsock(_ vsock: VsockDevice) throws {
        try state.withLock { state in
            state.calls.append(.vsock(vsock))
            try state.rules.checkPreBootConfiguration()
            state.configuration.vsock = vsock
            state.rules.recordPreBootConfiguration()
        }
    }

    func putDrive(_ drive: Drive) throws {
        try state.withLock { state in
            state.calls.append(.drive(drive))
            try state.rules.checkPreBootConfiguration()
            state.configuration.drives.removeAll { $0.driveID == drive.driveID }
            state.configuration.drives.append(drive)
            state.rules.recordPreBootConfiguration()
        }
    }

    func instanceStart() throws {
        try state.withLock { state in
            state.calls.append(.instanceStart)
            try state.rules.checkInstanceStart()
            state.rules.recordStarted()
        }
    }

    func sendCtrlAltDel() throws {
        try state.withLock { state in
            state.calls.append(.sendCtrlAltDel)
            try state.rules.checkSendCtrlAltDel()
        }
        ctrlAltDelHook.withLock { $0 }?()
    }

    func configureLogger(_ configuration: LoggerConfig) throws {
        try state.withLock { state in
            state.calls.append(.logger(configuration))
            try state.rules.checkPreBootConfiguration()
            state.configuration.logger = configuration
        }
    }

    func configureMetrics(_ configuration: MetricsConfig) throws {
        try state.withLock { state in
            state.calls.append(.metrics(configuration))
            try state.rules.checkPreBootConfiguration()
            guard state.configuration.metrics == nil else { throw VMMError("Reinitialization of metrics not allowed.") }
            state.configuration.metrics = configuration
        }
    }

    func configureSerial(_ configuration: SerialConfig) throws {
        try state.withLock { state in
            state.calls.append(.serial(configuration))
            try state.rules.checkPreBootConfiguration()
            state.configuration.serial = configuration
        }
    }

    func putEntropyDevice(_ device: EntropyDevice) throws {
        try state.withLock { state in
            state.calls.append(.entropy(device))
            try state.rules.checkPreBootConfiguration()
            state.configuration.entropy = device
            state.rules.recordPreBootConfiguration()
        }
    }

    func flushMetrics() throws {
        state.withLock { $0.calls.append(.flushMetrics) }
    }

    func pause() throws {
        try state.withLock { state in
            state.calls.append(.pause)
            try state.rules.checkPause()
        }
        if pauseDelay > .zero { Thread.sleep(forTimeInterval: Double(pauseDelay.components.seconds) + Double(pauseDelay.components.attoseconds) / 1e18) }
        state.withLock { $0.rules.recordPaused() }
    }

    func resume() throws {
        try state.withLock { state in
            state.calls.append(.resume)
            try state.rules.checkResume()
            state.rules.recordResumed()
        }
    }

    func createSnapshot(_ request: SnapshotFiles) throws {
        try state.withLock { state in
            state.calls.append(.createSnapshot(request))
            try state.rules.checkSnapshotCreate()
        }
    }

    func loadSnapshot(_ request: SnapshotLoadRequest) throws {
        try state.withLock { state in
            state.calls.append(.loadSnapshot(request))
            try state.rules.checkSnapshotLoad()
            state.rules.recordSnapshotLoaded(resumed: request.resumeVM)
        }
    }
}
