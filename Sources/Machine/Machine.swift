import CKVM
import Devices
import Foundation
import GuestMemory
import KVM
import Logging
import X86Boot

/// A running (or paused, or stopped) VM: KVM objects, guest memory, devices and vCPU
/// threads, with the lifecycle operations the CLI and the control API need.
public final class Machine: Sendable {
    public let memory: GuestMemory
    public let serial: Serial16550
    public let vcpuCount: Int
    let kvm: KVMSystem
    let vm: VirtualMachine
    let vcpus: [VCPU]
    let portBus: Bus
    let mmioBus: Bus
    let keyboardController: I8042Controller
    let control: RunControl
    let pci: PCISubsystem
    let logger: Logger
    private let runners: [VCPURunner]

    /// The KVM device; `SWIFTLET_KVM_DEVICE` overrides it (tests use it to check the errors
    /// for a missing or wrong device).
    static var kvmDevicePath: String {
        ProcessInfo.processInfo.environment["SWIFTLET_KVM_DEVICE"] ?? "/dev/kvm"
    }

    /// Port I/O and IRQ assignments of the legacy devices.
    enum LegacyPorts {
        static let com1: UInt64 = 0x3F8, com1IRQ: UInt32 = 4
        static let i8042: UInt64 = 0x60, i8042IRQ: UInt32 = 1
        static let cmos: UInt64 = 0x70
    }

    /// Builds a VM and loads the kernel, initrd and command line into it. The vCPUs do not
    /// run until `start()`.
    ///
    /// - Parameter serialOutput: receives the guest's console bytes, on a vCPU thread.
    public static func boot(
        _ configuration: MachineConfiguration,
        serialOutput: @escaping @Sendable ([UInt8]) -> Void,
        logger: Logger
    ) throws(MachineError) -> Machine {
        try validate(configuration)
        let kernel = try HostFile.readAll(configuration.kernelPath, what: "kernel")
        let initrd = try configuration.initrdPath.map { path throws(MachineError) in try HostFile.readAll(path, what: "initrd") }
        let memorySize = UInt64(configuration.memoryMiB) << 20
        let memory: GuestMemory
        do {
            memory = try GuestMemory(layout: X86Layout.ramLayout(size: memorySize))
        } catch {
            throw MachineError.invalidConfiguration("\(error)")
        }

        let boot: LinuxBootResult
        do {
            boot = try LinuxBoot.prepare(memory: memory, kernel: kernel, initrd: initrd, commandLine: configuration.commandLine)
        } catch {
            throw MachineError.kernel(path: configuration.kernelPath, reason: "\(error)")
        }

        let machine = try Machine(
            memory: memory, vcpuCount: configuration.vcpuCount, virtioDevices: try PCISubsystem.openDisks(configuration.disks), startPaused: false,
            serialOutput: serialOutput, logger: logger)
        do {
            let cpuid = try machine.kvm.supportedCPUID()
            for vcpu in machine.vcpus {
                try VCPUBootSetup.configure(vcpu, boot: boot.cpu, cpuid: cpuid, vcpuCount: configuration.vcpuCount)
            }
        } catch {
            throw MachineError.kvm(error)
        }
        logger.debug("kernel loaded", metadata: ["format": "\(boot.format)", "entry": "0x\(String(boot.cpu.rip, radix: 16))"])
        return machine
    }

    static func validate(_ configuration: MachineConfiguration) throws(MachineError) {
        guard MachineConfiguration.memoryRangeMiB.contains(configuration.memoryMiB) else {
            throw MachineError.invalidConfiguration(
                "memory must be between \(MachineConfiguration.memoryRangeMiB.lowerBound) and \(MachineConfiguration.memoryRangeMiB.upperBound) MiB")
        }
        guard MachineConfiguration.vcpuRange.contains(configuration.vcpuCount) else {
            throw MachineError.invalidConfiguration(
                "vCPU count must be between \(MachineConfiguration.vcpuRange.lowerBound) and \(MachineConfiguration.vcpuRange.upperBound)")
        }
    }

    /// Creates the KVM VM around `memory` with the in-kernel interrupt controllers, the PIT,
    /// the vCPUs and the legacy devices. Shared by boot and snapshot restore.
    init(
        memory: GuestMemory, vcpuCount: Int, virtioDevices: [(name: String, device: any SnapshottableVirtioDevice)], startPaused: Bool,
        serialOutput: @escaping @Sendable ([UInt8]) -> Void, logger: Logger
    ) throws(MachineError) {
        let kvm: KVMSystem, vm: VirtualMachine
        do {
            kvm = try KVMSystem(path: Self.kvmDevicePath)
            vm = try kvm.createVM()
            try vm.setTSSAddress(X86Layout.tssAddress)
            for (slot, region) in memory.regions.enumerated() {
                try vm.setUserMemoryRegion(slot: UInt32(slot), guestAddress: region.range.start, size: region.range.length, hostAddress: region.hostAddress)
            }
            try vm.createIRQChip()
            try vm.createPIT2()
            vcpus = try (0..<vcpuCount).map { id throws(KVMError) in try vm.createVCPU(id: id) }
        } catch {
            throw MachineError.kvm(error)
        }
        self.kvm = kvm
        self.vm = vm
        self.memory = memory
        self.vcpuCount = vcpuCount
        self.logger = logger
        let control = RunControl(vcpuCount: vcpuCount, startPaused: startPaused)
        self.control = control
        let portBus = Bus(), mmioBus = Bus()
        self.portBus = portBus
        self.mmioBus = mmioBus
        serial = Serial16550(interrupt: KVMInterruptLine(vm: vm, gsi: LegacyPorts.com1IRQ, logger: logger), output: serialOutput)
        keyboardController = I8042Controller(interrupt: KVMInterruptLine(vm: vm, gsi: LegacyPorts.i8042IRQ, logger: logger)) {
            control.stop(.guestReset("i8042 reset"))
        }
        do {
            try portBus.insert(serial, base: LegacyPorts.com1, length: 8)
            try portBus.insert(keyboardController, base: LegacyPorts.i8042, length: 5)
            try portBus.insert(CMOSClock(), base: LegacyPorts.cmos, length: 2)
        } catch {
            throw MachineError.invalidConfiguration("device layout: \(error)")
        }
        pci = try PCISubsystem(vm: vm, memory: memory, portBus: portBus, mmioBus: mmioBus, virtioDevices: virtioDevices, logger: logger)
        runners = vcpus.map { [logger] in VCPURunner(vcpu: $0, portBus: portBus, mmioBus: mmioBus, control: control, logger: logger) }
    }

    // MARK: - Lifecycle

    public var state: MachineState { control.currentState }

    /// Starts every vCPU thread.
    public func start() {
        for runner in runners { runner.start() }
    }

    /// Parks every vCPU outside the guest and returns once all are parked.
    public func pause() throws(MachineError) {
        try control.pause { kickAll() }
        pci.quiesce()
        // The guest's kvmclock must not count the pause as a stall (soft lockup warnings).
        for vcpu in vcpus { vcpu.notifyClockPaused() }
    }

    public func resume() throws(MachineError) {
        pci.resumeActivity()
        try control.resume()
    }

    /// Stops the VM; the first reason given wins.
    public func requestStop(_ reason: StopReason) {
        if control.stop(reason) { kickAll() }
    }

    /// Blocks until the VM has stopped and every vCPU thread has ended.
    public func waitForStop() -> StopReason {
        control.waitForStop()
    }

    /// Presses Ctrl+Alt+Del on the guest's keyboard (set-1 scancodes, as the i8042 translates).
    public func sendCtrlAltDel() {
        keyboardController.injectKeyboardBytes([0x1D, 0x38, 0xE0, 0x53, 0xE0, 0xD3, 0xB8, 0x9D])
    }

    private func kickAll() {
        for vcpu in vcpus { vcpu.kick() }
    }
}
