import Devices
import GuestMemory
import KVM
import Logging
import X86Boot

/// The VM's PCI side: bus 0 behind ports 0xCF8–0xCFF, and one virtio-blk device per disk with
/// its BAR in the MMIO hole and an ioeventfd per queue.
final class PCIDevices: Sendable {
    struct Disk: Sendable {
        let block: VirtioBlock
        let transport: VirtioPCIDevice
    }

    let root: PCIRoot
    let configIO: PCIConfigIO
    let disks: [Disk]
    private let notifiers = NSLockShimmed<[QueueNotifier]>([])
    private let vm: VirtualMachine

    init(vm: VirtualMachine, memory: GuestMemory, portBus: Bus, mmioBus: Bus, disks: [DiskConfiguration], logger: Logger) throws(MachineError) {
        self.vm = vm
        root = PCIRoot(mmioBus: mmioBus, mmioWindow: X86Layout.pciMMIOStart..<X86Layout.pciMMIOEnd)
        configIO = PCIConfigIO(root: root)
        let msi = KVMMSISender(vm: vm, logger: logger)
        var attached: [Disk] = []
        for disk in disks {
            do {
                let block = try VirtioBlock(path: disk.path, readOnly: disk.readOnly, id: disk.id)
                let transport = try VirtioPCIDevice(device: block, memory: memory, msiSender: msi) { message in
                    logger.error("\(disk.id): \(message)")
                }
                try root.attach(transport)
                attached.append(Disk(block: block, transport: transport))
            } catch {
                throw MachineError.invalidConfiguration("\(error)")
            }
        }
        self.disks = attached
        do {
            try portBus.insert(configIO, base: PCIConfigIO.portBase, length: PCIConfigIO.portCount)
        } catch {
            throw MachineError.invalidConfiguration("PCI ports: \(error)")
        }
    }

    /// Registers an ioeventfd at each queue's current notify address. Called after boot set-up
    /// and again after a restore, when the guest may have moved a BAR.
    func connectNotifiers() throws(MachineError) {
        var created: [QueueNotifier] = []
        do {
            for disk in disks {
                for queue in 0..<disk.transport.queueCount {
                    guard let address = disk.transport.notifyAddress(queue: queue) else { continue }
                    created.append(try QueueNotifier(vm: vm, address: address, transport: disk.transport, queue: queue))
                }
            }
        } catch {
            throw MachineError.kvm(error)
        }
        notifiers.withLock { $0 = created }
    }

    /// Stops device activity for a pause or snapshot: no new notifications are taken and
    /// in-flight requests finish (so their completions land before the VM is frozen).
    func quiesce() {
        notifiers.withLock { $0.forEach { $0.suspendDelivery() } }
        for disk in disks { disk.transport.drain() }
    }

    func resumeActivity() {
        notifiers.withLock { $0.forEach { $0.resumeDelivery() } }
    }
}

/// A value guarded by `NSLockShim`, for non-Sendable contents.
final class NSLockShimmed<Value>: @unchecked Sendable {
    private let lock = NSLockShim()
    private var value: Value
    init(_ value: Value) { self.value = value }
    func withLock<T>(_ body: (inout Value) throws -> T) rethrows -> T {
        try lock.withLock { try body(&value) }
    }
}
