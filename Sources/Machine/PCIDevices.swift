import Devices
import Dispatch
import GuestMemory
import KVM
import Logging
import Synchronization
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
    private let notifiers = Mutex(Notifiers())
    private let vm: VirtualMachine
    private let logger: Logger

    private struct Notifiers {
        var active: [QueueNotifier] = []
        var suspended = false
    }

    init(vm: VirtualMachine, memory: GuestMemory, portBus: Bus, mmioBus: Bus, disks: [DiskConfiguration], logger: Logger) throws(MachineError) {
        self.vm = vm
        self.logger = logger
        root = PCIRoot(mmioBus: mmioBus, mmioWindow: X86Layout.pciMMIOWindow.start..<(X86Layout.pciMMIOWindow.start + X86Layout.pciMMIOWindow.length))
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
                throw MachineError.device(error)
            }
        }
        self.disks = attached
        do {
            try portBus.insert(configIO, base: PCIConfigIO.portBase, length: PCIConfigIO.portCount)
        } catch {
            throw MachineError.device(error)
        }
    }

    /// Registers an ioeventfd at each queue's current notify address, and follows the guest
    /// if it moves a BAR. Called after boot set-up and after a restore.
    func connectNotifiers() throws(MachineError) {
        try reconnectNotifiers()
        // The observer runs with the PCI bus locked; re-registering happens off that lock. Until
        // it does, notify writes reach the device through the MMIO bus, which is just slower.
        root.setBARObserver { [weak self] _ in
            DispatchQueue.global().async { [weak self] in
                guard let self else { return }
                do { try self.reconnectNotifiers() } catch { self.logger.error("moving ioeventfds: \(error)") }
            }
        }
    }

    private func reconnectNotifiers() throws(MachineError) {
        try notifiers.withLock { (notifiers: inout Notifiers) throws(MachineError) in
            // KVM refuses a second ioeventfd on the same address, so the old ones go first.
            notifiers.active = []
            do {
                for disk in disks {
                    for queue in 0..<disk.transport.queueCount {
                        guard let address = disk.transport.notifyAddress(queue: queue) else { continue }
                        let notifier = try QueueNotifier(vm: vm, address: address, transport: disk.transport, queue: queue)
                        if notifiers.suspended { notifier.suspendDelivery() }
                        notifiers.active.append(notifier)
                    }
                }
            } catch let error as KVMError {
                throw MachineError.kvm(error)
            } catch {
                throw MachineError.device(error)
            }
        }
    }

    /// Stops device activity for a pause or snapshot: no new notifications are taken and
    /// in-flight requests finish (so their completions land before the VM is frozen).
    func quiesce() {
        notifiers.withLock { notifiers in
            notifiers.suspended = true
            notifiers.active.forEach { $0.suspendDelivery() }
        }
        for disk in disks { disk.transport.drain() }
    }

    func resumeActivity() {
        notifiers.withLock { notifiers in
            notifiers.suspended = false
            notifiers.active.forEach { $0.resumeDelivery() }
        }
        // A kick that raced with the pause (or a snapshot) may sit in an eventfd nobody reads
        // any more; looking at every queue once is harmless when there is nothing new.
        for disk in disks {
            for queue in 0..<disk.transport.queueCount { disk.transport.notifyQueue(queue) }
        }
    }
}
