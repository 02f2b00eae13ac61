import Devices
import GuestMemory
import KVM
import Logging
import SwiftletCore
import X86Boot

/// The VM's PCI side: bus 0 behind ports 0xCF8–0xCFF, and each virtio device on its own
/// virtio-pci transport with its BAR in the MMIO hole and an ioeventfd per queue.
final class PCISubsystem: Sendable {
    /// A virtio device on the bus. `name` tells the user which one it is (the drive ID) and
    /// `key` is what its state is saved under ("virtio-blk:rootfs").
    struct VirtioFunction: Sendable {
        let name: String
        let device: any SnapshottableVirtioDevice
        let transport: VirtioPCIDevice

        var key: String { VirtioDeviceKind.key(device: device, name: name) }
    }

    let root: PCIRoot
    let configIO: PCIConfigIO
    let virtioFunctions: [VirtioFunction]
    private let notifiers: QueueNotifierSet

    /// Attaches `devices` in order (their order is their PCI slot order, and their transport
    /// state keys' order) and registers their queue notifiers.
    init(
        vm: VirtualMachine, memory: GuestMemory, portBus: Bus, mmioBus: Bus, virtioDevices: [(name: String, device: any SnapshottableVirtioDevice)],
        logger: Logger, mmioWindow window: AddressRange = X86Layout.pciMMIOWindow
    ) throws(MachineError) {
        notifiers = QueueNotifierSet(vm: vm, logger: logger)
        root = PCIRoot(mmioBus: mmioBus, mmioWindow: window)
        configIO = PCIConfigIO(root: root, mappingSink: notifiers)
        let msi = KVMMSISender(vm: vm, logger: logger)
        var attached: [VirtioFunction] = []
        for (name, device) in virtioDevices {
            do {
                let transport = try VirtioPCIDevice(device: device, memory: memory, msiSender: msi) { message in
                    logger.error("\(name): \(message)")
                }
                let slot = try root.attach(transport)
                try notifiers.add(transport, slot: slot, barBase: root.mappedAddress(slot: slot, bar: VirtioPCILayout.bar))
                attached.append(VirtioFunction(name: name, device: device, transport: transport))
            } catch let error as KVMError {
                throw MachineError.kvm(error)
            } catch {
                throw MachineError.device(error)
            }
        }
        virtioFunctions = attached
        do {
            try portBus.insert(configIO, range: PCIConfigIO.ports)
        } catch {
            throw MachineError.device(error)
        }
    }

    /// The user's name for the one entropy device (its state key is "virtio-rng:entropy").
    static let entropyDeviceName = "entropy"

    /// Opens every configured virtio device, disks first, then network interfaces, then the
    /// vsock device, each kind in the order given, then the entropy device; this order is their
    /// PCI slot order. A disk, tap or vsock socket that cannot be opened fails here, before the
    /// guest starts.
    static func openDevices(
        disks: [DiskConfiguration], netInterfaces: [NetConfiguration], vsock: VsockConfiguration? = nil, entropy: Bool = false, vcpuCount: Int = 1
    ) throws(MachineError)
        -> [(name: String, device: any SnapshottableVirtioDevice)]
    {
        // An interface's ID is its state key in a snapshot, so it must be unique; checked
        // before anything is opened.
        var interfaceIDs = Set<String>()
        if let repeated = netInterfaces.first(where: { !interfaceIDs.insert($0.id).inserted }) {
            throw MachineError.device(NetConfigurationError.duplicateID(repeated.id))
        }
        var devices: [(name: String, device: any SnapshottableVirtioDevice)] = []
        for disk in disks {
            do {
                devices.append((
                    disk.id,
                    try VirtioBlock(path: disk.path, readOnly: disk.readOnly, id: disk.id, rateLimit: disk.rateLimit, options: disk.options(vcpuCount: vcpuCount))
                ))
            } catch {
                throw MachineError.device(error)
            }
        }
        for (index, interface) in netInterfaces.enumerated() {
            do {
                let mac = interface.mac ?? MACAddress.locallyAdministered(index: UInt32(index))
                devices.append((
                    interface.id,
                    try VirtioNet(
                        tap: interface.tap, mac: mac, receiveRateLimit: interface.receiveRateLimit, transmitRateLimit: interface.transmitRateLimit)
                ))
            } catch {
                throw MachineError.device(error)
            }
        }
        if let vsock {
            do {
                devices.append((vsock.id, try VirtioVsock(guestCID: vsock.guestCID, udsPath: vsock.udsPath)))
            } catch {
                throw MachineError.device(error)
            }
        }
        if entropy { devices.append((entropyDeviceName, VirtioRng())) }
        return devices
    }

    /// After a restore put BAR addresses back into configuration space: maps the BARs there
    /// and moves the notifiers with them.
    func followRestoredMappings(_ moved: [PCIRoot.BARMapping]) throws(MachineError) {
        do { try notifiers.move(moved) } catch { throw MachineError.kvm(error) }
    }

    /// Stops device activity for a pause or snapshot: no new notifications are taken and
    /// in-flight requests finish (so their completions land before the VM is frozen).
    func quiesce() {
        notifiers.suspendDelivery()
        for function in virtioFunctions {
            // Host-side events (tap frames) first, so the drain leaves none behind.
            function.transport.core.holdExternalRequests()
            function.transport.drain()
        }
    }

    func resumeActivity() {
        notifiers.resumeDelivery()
        // A kick that raced with the pause (or a snapshot) may sit in an eventfd nobody reads
        // any more; looking at every queue once is harmless when there is nothing new.
        for function in virtioFunctions {
            function.transport.core.releaseExternalRequests()
            for queue in 0..<function.transport.queueCount { function.transport.notifyQueue(queue) }
        }
    }
}
