import CKVM
import Devices
import Dispatch
import KVM
import Logging
#if canImport(Glibc)
import Glibc
#endif

/// Turns the driver's queue-notify write into a kernel-side event: KVM signals an eventfd
/// instead of exiting to the vCPU thread, and a Dispatch source hands the kick to the
/// device's own queue. The vCPU never waits for disk I/O.
final class QueueNotifier: @unchecked Sendable {
    // `@unchecked`: `source` and `suspended` are only touched under `lock`.
    private let vm: VirtualMachine
    private let eventFD: Int32
    private let address: UInt64
    private let source: any DispatchSourceRead
    private let lock = NSLockShim()
    private var suspended = false

    static let notifyWidth: UInt32 = 2

    init(vm: VirtualMachine, address: UInt64, transport: VirtioPCIDevice, queue: Int) throws(KVMError) {
        let fd = ckvm_eventfd()
        guard fd >= 0 else { throw KVMError.systemCall(operation: "eventfd", errno: errno) }
        do {
            try vm.registerIoeventfd(fd, mmioAddress: address, length: Self.notifyWidth)
        } catch {
            close(fd)
            throw error
        }
        self.vm = vm
        self.eventFD = fd
        self.address = address
        source = DispatchSource.makeReadSource(fileDescriptor: fd, queue: .global(qos: .userInitiated))
        source.setEventHandler { [transport] in
            var counter: UInt64 = 0
            // Several kicks may have coalesced into one counter value; one pass serves them all.
            _ = read(fd, &counter, MemoryLayout<UInt64>.size)
            transport.notifyQueue(queue)
        }
        source.resume()
    }

    deinit {
        lock.withLock { if suspended { source.resume() } }
        source.cancel()
        try? vm.unregisterIoeventfd(eventFD, mmioAddress: address, length: Self.notifyWidth)
        close(eventFD)
    }

    /// Holds back notifications while the VM is paused; they are served on `resumeDelivery`.
    func suspendDelivery() {
        lock.withLock {
            guard !suspended else { return }
            source.suspend()
            suspended = true
        }
    }

    func resumeDelivery() {
        lock.withLock {
            guard suspended else { return }
            source.resume()
            suspended = false
        }
    }
}

/// A pthread mutex with a closure API, for classes that cannot use `Mutex` because the
/// guarded state is a non-Sendable reference.
final class NSLockShim: @unchecked Sendable {
    private var mutex = pthread_mutex_t()
    init() { pthread_mutex_init(&mutex, nil) }
    deinit { pthread_mutex_destroy(&mutex) }
    func withLock<T, E: Error>(_ body: () throws(E) -> T) throws(E) -> T {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        return try body()
    }
}
