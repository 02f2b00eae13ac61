import Devices
import GuestMemory
import KVM
import Logging
import X86Boot

/// The VM's virtio-mmio side: each virtio device on its own `VirtioMMIODevice`, its window
/// on the MMIO bus and its interrupt on an IOAPIC line where `VirtioMMIOPlacement` puts them,
/// and an ioeventfd per queue on its QueueNotify register.
final class VirtioMMIOSubsystem: Sendable {
    /// A virtio device on its transport; `key` is what the device's own state is saved under.
    struct VirtioFunction: Sendable {
        let name: String
        let device: any SnapshottableVirtioDevice
        let transport: VirtioMMIODevice
        let placement: VirtioMMIODeviceDescription

        var key: String { VirtioDeviceKind.key(device: device, name: name) }
    }

    let virtioFunctions: [VirtioFunction]
    private let notifiers: [QueueNotifier]

    var placements: [VirtioMMIODeviceDescription] { virtioFunctions.map(\.placement) }

    init(
        vm: VirtualMachine, memory: GuestMemory, mmioBus: Bus, virtioDevices: [(name: String, device: any SnapshottableVirtioDevice)],
        logger: Logger
    ) throws(MachineError) {
        var attached: [VirtioFunction] = []
        var notifiers: [QueueNotifier] = []
        do {
            let placements = try VirtioMMIOPlacement.devices(count: virtioDevices.count)
            for ((name, device), placement) in zip(virtioDevices, placements) {
                let line = KVMInterruptLine(vm: vm, gsi: placement.gsi, logger: logger)
                let transport = try VirtioMMIODevice(device: device, memory: memory, interruptLine: line) { message in
                    logger.error("\(name): \(message)")
                }
                try mmioBus.insert(transport, range: placement.window)
                let notify = placement.window.start + VirtioMMIODevice.notifyOffset
                for queue in 0..<transport.queueCount {
                    notifiers.append(try QueueNotifier(
                        vm: vm, address: notify, width: QueueNotifier.mmioNotifyWidth, datamatch: UInt64(queue), core: transport.core, queue: queue))
                }
                attached.append(VirtioFunction(name: name, device: device, transport: transport, placement: placement))
            }
        } catch let error as KVMError {
            throw MachineError.kvm(error)
        } catch {
            throw MachineError.device(error)
        }
        virtioFunctions = attached
        self.notifiers = notifiers
    }

    /// Stops device activity for a pause or snapshot (see `PCISubsystem.quiesce`).
    func quiesce() {
        for notifier in notifiers { notifier.suspendDelivery() }
        for function in virtioFunctions { function.transport.drain() }
    }

    func resumeActivity() {
        for notifier in notifiers { notifier.resumeDelivery() }
        // A kick that raced with the pause may sit in an eventfd nobody reads any more.
        for function in virtioFunctions {
            for queue in 0..<function.transport.queueCount { function.transport.notifyQueue(queue) }
        }
    }
}
