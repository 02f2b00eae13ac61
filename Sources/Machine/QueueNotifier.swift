import CKVM
import Devices
import Dispatch
import KVM
import Logging
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Turns the driver's queue-notify write into a kernel-side event: KVM signals an eventfd
/// instead of exiting to the vCPU thread, and a Dispatch source hands the kick to the
/// device's own queue. The vCPU never waits for disk I/O.
final class QueueNotifier: @unchecked Sendable {
    // `@unchecked`: the Dispatch source is only suspended or resumed under `suspended`'s lock.
    private let vm: VirtualMachine
    private let eventFD: Int32
    private let address: UInt64
    private let width: UInt32
    private let datamatch: UInt64?
    private let source: any DispatchSourceRead
    private let suspended = Mutex(false)

    /// virtio-pci's notify writes: 2 bytes, one address per queue.
    static let pciNotifyWidth: UInt32 = 2
    /// virtio-mmio's QueueNotify writes: 4 bytes of queue index, one address for all queues.
    static let mmioNotifyWidth: UInt32 = 4

    /// - Parameter datamatch: the value a write must carry to count (nil: any write).
    init(vm: VirtualMachine, address: UInt64, width: UInt32, datamatch: UInt64? = nil, core: VirtioDeviceCore, queue: Int) throws(KVMError) {
        let fd = ckvm_eventfd()
        guard fd >= 0 else { throw KVMError.systemCall(operation: "eventfd", errno: errno) }
        do {
            try vm.registerIoeventfd(fd, mmioAddress: address, length: width, datamatch: datamatch)
        } catch {
            close(fd)
            throw error
        }
        self.vm = vm
        self.eventFD = fd
        self.address = address
        self.width = width
        self.datamatch = datamatch
        source = DispatchSource.makeReadSource(fileDescriptor: fd, queue: .global(qos: .userInitiated))
        source.setEventHandler { [core] in
            var counter: UInt64 = 0
            // Several kicks may have coalesced into one counter value; one pass serves them all.
            _ = read(fd, &counter, MemoryLayout<UInt64>.size)
            core.notifyQueue(queue)
        }
        // Dispatch may still watch the descriptor until the cancellation completes; closing it
        // earlier could let it watch a recycled number (a BAR storm recycles them quickly).
        source.setCancelHandler { close(fd) }
        source.resume()
    }

    deinit {
        // KVM identifies the ioeventfd by its descriptor, so it goes while that is still open.
        try? vm.unregisterIoeventfd(eventFD, mmioAddress: address, length: width, datamatch: datamatch)
        suspended.withLock { if $0 { source.resume() } }
        source.cancel()
    }

    /// Holds back notifications while the VM is paused; they are served on `resumeDelivery`.
    func suspendDelivery() {
        suspended.withLock { suspended in
            guard !suspended else { return }
            source.suspend()
            suspended = true
        }
    }

    func resumeDelivery() {
        suspended.withLock { suspended in
            guard suspended else { return }
            source.resume()
            suspended = false
        }
    }
}
