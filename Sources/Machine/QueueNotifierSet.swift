import Devices
import KVM
import Logging
import Synchronization

/// The KVM ioeventfds on every virtio-pci queue's notify address, kept where the guest has
/// mapped each device's BAR.
///
/// It is the `PCIMappingSink` of the VM's `PCIConfigIO`: a configuration write that moves a
/// BAR hands the move here synchronously, on the vCPU thread that did the write, so the
/// ioeventfds have moved before that vCPU runs the guest again. Until a notifier exists, a
/// notify write still reaches its device through the MMIO bus, which is only slower.
final class QueueNotifierSet: PCIMappingSink {
    private struct Storage {
        var transports: [Int: VirtioPCIDevice] = [:]
        var active: [Int: [QueueNotifier]] = [:]
        var suspended = false
    }

    private let vm: VirtualMachine
    private let logger: Logger
    private let storage = Mutex(Storage())

    init(vm: VirtualMachine, logger: Logger) {
        self.vm = vm
        self.logger = logger
    }

    /// Starts following the BAR of `transport` in PCI `slot`, which is mapped at `barBase`.
    func add(_ transport: VirtioPCIDevice, slot: Int, barBase: UInt64?) throws(KVMError) {
        try storage.withLock { (storage: inout Storage) throws(KVMError) in
            storage.transports[slot] = transport
            try Self.place(slot: slot, barBase: barBase, in: &storage, vm: vm)
        }
    }

    /// Moves the notifiers of every virtio BAR in `changes`; the first KVM failure is thrown
    /// (that device's notifications then go through the MMIO bus).
    func move(_ changes: [PCIRoot.BARMapping]) throws(KVMError) {
        try storage.withLock { (storage: inout Storage) throws(KVMError) in
            for change in changes where change.bar == VirtioPCILayout.bar && storage.transports[change.slot] != nil {
                try Self.place(slot: change.slot, barBase: change.base, in: &storage, vm: vm)
            }
        }
    }

    func barMappingsChanged(_ changes: [PCIRoot.BARMapping]) {
        do { try move(changes) } catch { logger.error("moving ioeventfds: \(error)") }
    }

    /// Replaces the notifiers of `slot` with ones at `barBase` (none while it is unmapped).
    private static func place(slot: Int, barBase: UInt64?, in storage: inout Storage, vm: VirtualMachine) throws(KVMError) {
        // KVM refuses a second ioeventfd on the same address, so the old ones go first.
        storage.active[slot] = nil
        guard let barBase, let transport = storage.transports[slot] else { return }
        var notifiers: [QueueNotifier] = []
        for queue in 0..<transport.queueCount {
            guard let address = transport.notifyAddress(queue: queue, barBase: barBase) else { continue }
            let notifier = try QueueNotifier(vm: vm, address: address, width: QueueNotifier.pciNotifyWidth, core: transport.core, queue: queue)
            if storage.suspended { notifier.suspendDelivery() }
            notifiers.append(notifier)
        }
        storage.active[slot] = notifiers
    }

    /// Holds back notifications while the VM is paused; they are served on `resumeDelivery`.
    func suspendDelivery() {
        storage.withLock { storage in
            storage.suspended = true
            storage.active.values.joined().forEach { $0.suspendDelivery() }
        }
    }

    func resumeDelivery() {
        storage.withLock { storage in
            storage.suspended = false
            storage.active.values.joined().forEach { $0.resumeDelivery() }
        }
    }
}
