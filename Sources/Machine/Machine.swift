import CKVM
import Devices
import GuestMemory
import KVM
import Logging
import SwiftletCore
import X86Boot

/// A running (or paused, or stopped) VM: KVM objects, guest memory, devices and vCPU
/// threads, with the lifecycle operations the CLI and the control API need.
public final class Machine: Sendable {
    public let memory: GuestMemory
    let serial: Serial16550
    public let vcpuCount: Int
    let kvm: KVMSystem
    let vm: VirtualMachine
    let vcpus: [VCPU]
    let portBus: Bus
    let mmioBus: Bus
    let keyboardController: I8042Controller
    let control: RunControl
    let pci: PCISubsystem
    let virtioMMIO: VirtioMMIOSubsystem
    let logger: Logger
    /// Every vCPU's exits, counted for the metrics.
    public let exitCounters = VCPUExitCounters()
    private let runners: [VCPURunner]
    /// The kernel and initrd this VM booted from (none after a restore): a snapshot must not overwrite them.
    let bootFiles: [SnapshotOutputCheck.Input]

    /// The KVM device a VM is built on unless the caller names another.
    public static let defaultKVMDevicePath = "/dev/kvm"
    /// A kernel or initrd larger than this is a wrong path, not a boot file.
    static let maxBootFileBytes: UInt64 = 1 << 30

    /// Builds a VM and loads the kernel, initrd and command line into it. The vCPUs do not
    /// run until `start()`.
    ///
    /// - Parameters:
    ///   - kvmDevicePath: the KVM device to open (tests name a missing or wrong one).
    ///   - serialOutput: receives the guest's console bytes, on a vCPU thread.
    public static func boot(
        _ configuration: BootConfiguration,
        kvmDevicePath: String = defaultKVMDevicePath,
        serialOutput: @escaping @Sendable ([UInt8]) -> Void,
        logger: Logger
    ) throws(MachineError) -> Machine {
        try validate(configuration)
        let kernel = try readBootFile(configuration.kernelPath, what: "kernel")
        let initrd = try configuration.initrdPath.map { path throws(MachineError) in try readBootFile(path, what: "initrd") }
        let memorySize = UInt64(configuration.memoryMiB) << 20
        let memory: GuestMemory
        do throws(GuestMemoryError) {
            // The limit check above keeps the size far from the top of the address space.
            guard let layout = X86Layout.ramLayout(size: memorySize) else { throw GuestMemoryError.invalidLayout("\(memorySize) bytes of RAM") }
            memory = try GuestMemory(layout: layout, trackDirtyPages: configuration.trackDirtyPages)
        } catch {
            throw .memory(error)
        }

        let virtioDevices = try PCISubsystem.openDevices(
            disks: configuration.disks, netInterfaces: configuration.netInterfaces, vsock: configuration.vsock,
            entropy: configuration.entropy, vcpuCount: configuration.vcpuCount)
        let mmioPlacements = try virtioMMIOPlacements(transport: configuration.transport, deviceCount: virtioDevices.count)
        let commandLine = kernelCommandLine(configuration.commandLine, mmioPlacements: mmioPlacements)
        if commandLine != configuration.commandLine { logger.info("kernel command line with the virtio-mmio devices: \(commandLine)") }
        let firmware: BootFirmware
        do {
            firmware = try BootFirmware.build(vcpuCount: configuration.vcpuCount, virtioMMIODevices: mmioPlacements)
        } catch {
            throw .firmware(error)
        }
        let boot: LinuxBootResult
        do {
            boot = try LinuxBoot.prepare(memory: memory, kernel: kernel, initrd: initrd, commandLine: commandLine, firmware: firmware)
        } catch {
            throw .kernel(path: configuration.kernelPath, error)
        }

        let machine = try Machine(
            memory: memory, vcpuCount: configuration.vcpuCount, virtioDevices: virtioDevices, transport: configuration.transport, startPaused: false,
            kvmDevicePath: kvmDevicePath, serialOutput: serialOutput, logger: logger,
            bootTimer: configuration.bootTimerStart.map { start in BootTimer(start: start) { logger.info("\($0.logLine)") } },
            bootFiles: [("kernel", configuration.kernelPath)] + (configuration.initrdPath.map { [("initrd", $0)] } ?? []))
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

    static func validate(_ configuration: BootConfiguration) throws(MachineError) {
        do {
            try MachineLimits.checkMemory(configuration.memoryMiB)
            try MachineLimits.checkVCPUCount(configuration.vcpuCount)
        } catch {
            throw .limit(error)
        }
    }

    /// The user's command line, plus on virtio-mmio a `virtio_mmio.device=` word per device
    /// for kernels that find their devices there rather than in the DSDT.
    /// Where the virtio-mmio devices live (none over PCI): the DSDT describes them and the
    /// command line names them, from the same placements.
    static func virtioMMIOPlacements(transport: VirtioTransportKind, deviceCount: Int) throws(MachineError) -> [VirtioMMIODeviceDescription] {
        guard transport == .mmio else { return [] }
        do {
            return try VirtioMMIOPlacement.devices(count: deviceCount)
        } catch {
            throw .device(error)
        }
    }

    /// The command line with a `virtio_mmio.device=` word per device, for kernels that find
    /// virtio-mmio devices only there (`CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES`, no ACPI).
    static func kernelCommandLine(_ base: String, mmioPlacements: [VirtioMMIODeviceDescription]) -> String {
        guard !mmioPlacements.isEmpty else { return base }
        return ([base].filter { !$0.isEmpty } + VirtioMMIOPlacement.commandLineWords(mmioPlacements)).joined(separator: " ")
    }

    /// A kernel or initrd: a regular file (never a FIFO or a device, which could block or
    /// never end) of at most `maxBootFileBytes`.
    static func readBootFile(_ path: String, what: String) throws(MachineError) -> [UInt8] {
        do {
            return try HostFile.readAll(path, what: what, limit: maxBootFileBytes)
        } catch {
            throw .hostFile(error)
        }
    }

    /// Creates the KVM VM around `memory` with the in-kernel interrupt controllers, the PIT,
    /// the vCPUs and the legacy devices. Shared by boot and snapshot restore.
    init(
        memory: GuestMemory, vcpuCount: Int, virtioDevices: [(name: String, device: any SnapshottableVirtioDevice)], transport: VirtioTransportKind,
        startPaused: Bool,
        kvmDevicePath: String,
        serialOutput: @escaping @Sendable ([UInt8]) -> Void, logger: Logger,
        bootTimer: BootTimer? = nil,
        bootFiles: [(what: String, path: String)] = []
    ) throws(MachineError) {
        self.bootFiles = bootFiles.map { .init(what: $0.what, path: $0.path, identity: FileIdentity(path: $0.path)) }
        let kvm: KVMSystem, vm: VirtualMachine
        do {
            kvm = try KVMSystem(path: kvmDevicePath)
            vm = try kvm.createVM()
            try vm.setTSSAddress(X86Layout.tssAddress)
        } catch {
            throw MachineError.kvm(error)
        }
        try Self.registerMemory(memory, in: vm, kvmDevicePath: kvmDevicePath)
        do {
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
        // Async asks for io_uring but may get threads (a kernel or sandbox that refuses it):
        // the log says which, and why.
        for (name, device) in virtioDevices {
            if let block = device as? VirtioBlock, let engine = block.asynchronousEngineName {
                logger.info("drive \(name): io_engine Async on \(engine)")
            }
        }
        let control = RunControl(vcpuCount: vcpuCount, startPaused: startPaused) { [vcpus] in
            for vcpu in vcpus { vcpu.kick() }
        }
        self.control = control
        let portBus = Bus(), mmioBus = Bus()
        self.portBus = portBus
        self.mmioBus = mmioBus
        serial = Serial16550(interrupt: KVMInterruptLine(vm: vm, gsi: LegacyDeviceLayout.com1IRQ, logger: logger), output: serialOutput)
        keyboardController = I8042Controller(interrupt: KVMInterruptLine(vm: vm, gsi: LegacyDeviceLayout.i8042IRQ, logger: logger)) {
            control.stop(.guestReset("i8042 reset"))
        }
        do {
            try portBus.insert(serial, base: LegacyDeviceLayout.com1, length: 8)
            try portBus.insert(keyboardController, base: LegacyDeviceLayout.i8042, length: 5)
            try portBus.insert(CMOSClock(), base: LegacyDeviceLayout.cmos, length: 2)
            if let bootTimer { try mmioBus.insert(bootTimer, range: X86Layout.bootTimerPage) }
        } catch {
            throw .device(error)
        }
        try Self.attachPowerRegisters(to: portBus, control: control)
        pci = try PCISubsystem(
            vm: vm, memory: memory, portBus: portBus, mmioBus: mmioBus, virtioDevices: transport == .pci ? virtioDevices : [], logger: logger,
            mmioWindow: bootTimer == nil ? X86Layout.pciMMIOWindow : X86Layout.pciMMIOWindowBesideBootTimer)
        virtioMMIO = try VirtioMMIOSubsystem(
            vm: vm, memory: memory, mmioBus: mmioBus, virtioDevices: transport == .mmio ? virtioDevices : [], logger: logger)
        runners = vcpus.map { [logger, exitCounters] in
            VCPURunner(vcpu: $0, portBus: portBus, mmioBus: mmioBus, control: control, logger: logger, exitCounters: exitCounters)
        }
    }

    /// One KVM memory slot per RAM region, in order. When `memory` tracks dirty pages, KVM
    /// logs the guest's writes too (`KVM_MEM_LOG_DIRTY_PAGES`); a KVM that refuses fails
    /// the boot with an error naming the feature.
    static func registerMemory(_ memory: GuestMemory, in vm: VirtualMachine, kvmDevicePath: String) throws(MachineError) {
        let flags = memory.tracksDirtyPages ? CKVM_MEM_LOG_DIRTY_PAGES : 0
        for (slot, region) in memory.regions.enumerated() {
            do {
                try vm.setUserMemoryRegion(slot: UInt32(slot), guestRange: region.range, hostAddress: region.hostAddress, flags: flags)
            } catch {
                if flags != 0, case .systemCall(_, let code) = error { throw .dirtyPageTrackingUnavailable(kvmDevicePath: kvmDevicePath, errno: code) }
                throw .kvm(error)
            }
        }
    }

    // MARK: - Lifecycle

    public var state: MachineState { control.currentState }

    /// Starts every vCPU thread.
    public func start() {
        for runner in runners { runner.start() }
    }

    /// Parks every vCPU outside the guest and returns once all are parked.
    public func pause() throws(MachineError) {
        try control.pause()
        pci.quiesce()
        virtioMMIO.quiesce()
        // The guest's kvmclock must not count the pause as a stall (soft lockup warnings).
        for vcpu in vcpus { vcpu.notifyClockPaused() }
    }

    public func resume() throws(MachineError) {
        pci.resumeActivity()
        virtioMMIO.resumeActivity()
        try control.resume()
    }

    /// Stops the VM; the first reason given wins.
    public func requestStop(_ reason: StopReason) {
        control.stop(reason)
    }

    /// Blocks until the VM has stopped and every vCPU thread has ended.
    public func waitForStop() -> StopReason {
        control.waitForStop()
    }

    /// Offers host input to the guest's serial console. Returns how many leading bytes the
    /// UART took: none while its receive FIFO is full (or in loopback); offer the rest again
    /// once the guest has read some.
    public func sendConsoleInput<Bytes: Collection>(_ bytes: Bytes) -> Int where Bytes.Element == UInt8 {
        serial.enqueueInput(bytes)
    }

    /// Presses Ctrl+Alt+Del on the guest's keyboard (set-1 scancodes, as the i8042 translates).
    public func sendCtrlAltDel() {
        keyboardController.injectKeyboardBytes([0x1D, 0x38, 0xE0, 0x53, 0xE0, 0xD3, 0xB8, 0x9D])
    }
}
