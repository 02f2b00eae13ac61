import CKVM
import Devices
import KVM
#if canImport(Glibc)
import Glibc
#endif

/// Turns the driver's queue-notify write into a kernel-side event: KVM signals an eventfd
/// instead of exiting to the vCPU thread, and the device's own thread, which waits on that
/// eventfd, runs the queue. The vCPU never waits for disk I/O.
final class QueueNotifier: Sendable {
    private let vm: VirtualMachine
    private let eventFD: Int32
    private let address: UInt64
    private let width: UInt32
    private let datamatch: UInt64?
    private let watch: NotificationWatch

    /// virtio-pci's notify writes: 2 bytes, one address per queue.
    static let pciNotifyWidth: UInt32 = 2
    /// virtio-mmio's QueueNotify writes: 4 bytes of queue index, one address for all queues.
    static let mmioNotifyWidth: UInt32 = 4

    /// - Parameter datamatch: the value a write must carry to count (nil: any write).
    init(vm: VirtualMachine, address: UInt64, width: UInt32, datamatch: UInt64? = nil, core: VirtioDeviceCore, queue: Int) throws(KVMError) {
        let fd = ckvm_eventfd()
        guard fd >= 0 else { throw KVMError.systemCall(operation: "eventfd", errno: errno) }
        guard let watch = core.watchNotifications(eventFD: fd, queue: queue) else {
            let error = errno
            close(fd)
            throw KVMError.systemCall(operation: "epoll_ctl", errno: error)
        }
        do {
            try vm.registerIoeventfd(fd, mmioAddress: address, length: width, datamatch: datamatch)
        } catch {
            watch.cancelAndClose()
            throw error
        }
        self.vm = vm
        self.eventFD = fd
        self.address = address
        self.width = width
        self.datamatch = datamatch
        self.watch = watch
    }

    deinit {
        // KVM identifies the ioeventfd by its descriptor, so it goes while that is still open.
        try? vm.unregisterIoeventfd(eventFD, mmioAddress: address, length: width, datamatch: datamatch)
        watch.cancelAndClose()
    }

    /// Holds back notifications while the VM is paused; they are served on `resumeDelivery`.
    func suspendDelivery() { watch.setDelivering(false) }

    func resumeDelivery() { watch.setDelivering(true) }
}
