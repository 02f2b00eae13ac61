import CKVM
#if canImport(Glibc)
import Glibc
#endif

/// The `/dev/kvm` system descriptor: capability checks, host-supported CPUID and MSRs,
/// and the factory for VMs.
public final class KVMSystem: Sendable {
    public let fd: Int32
    public let path: String

    /// Opens `path` and checks the API version and the capabilities Swiftlet relies on.
    public init(path: String = "/dev/kvm") throws(KVMError) {
        let fd = open(path, O_RDWR | O_CLOEXEC)
        if fd < 0 {
            switch errno {
            case ENOENT, ENODEV, ENXIO: throw KVMError.deviceMissing(path: path)
            case EACCES, EPERM: throw KVMError.permissionDenied(path: path)
            default: throw KVMError.systemCall(operation: "open \(path)", errno: errno)
            }
        }
        self.fd = fd
        self.path = path
        let version = ioctl(fd, CKVM_GET_API_VERSION)
        if version < 0 {
            let error = errno
            close(fd)
            throw KVMError.notKVM(path: path, errno: error)
        }
        guard version == KVM_API_VERSION else {
            close(fd)
            throw KVMError.unsupportedAPIVersion(version)
        }
        for (capability, name) in Self.requiredCapabilities where checkExtension(capability) <= 0 {
            close(fd)
            throw KVMError.missingCapability(name)
        }
    }

    deinit { close(fd) }

    /// What every Swiftlet VM uses; checked up front so that a VM never half-builds.
    static let requiredCapabilities: [(Int32, String)] = [
        (KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY"),
        (KVM_CAP_IRQCHIP, "KVM_CAP_IRQCHIP"),
        (KVM_CAP_PIT2, "KVM_CAP_PIT2"),
        (KVM_CAP_SET_TSS_ADDR, "KVM_CAP_SET_TSS_ADDR"),
        (KVM_CAP_EXT_CPUID, "KVM_CAP_EXT_CPUID"),
        (KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT"),
        (KVM_CAP_IOEVENTFD, "KVM_CAP_IOEVENTFD"),
        (KVM_CAP_IRQFD, "KVM_CAP_IRQFD"),
        (KVM_CAP_SIGNAL_MSI, "KVM_CAP_SIGNAL_MSI"),
    ]

    /// `KVM_CHECK_EXTENSION`: 0 when absent, otherwise a capability-specific positive value.
    public func checkExtension(_ capability: Int32) -> Int32 {
        max(0, ioctl(fd, CKVM_CHECK_EXTENSION, capability))
    }

    /// Size of the per-vCPU `kvm_run` mapping.
    public func vcpuMmapSize() throws(KVMError) -> Int {
        let size = ioctl(fd, CKVM_GET_VCPU_MMAP_SIZE)
        if size < 0 { throw KVMError.systemCall(operation: "KVM_GET_VCPU_MMAP_SIZE", errno: errno) }
        return Int(size)
    }

    /// CPUID leaves the host can virtualize, from `KVM_GET_SUPPORTED_CPUID`.
    public func supportedCPUID() throws(KVMError) -> [kvm_cpuid_entry2] {
        var capacity = 128
        while true {
            let list = CPUIDList(capacity: capacity)
            let result = ioctl(fd, CKVM_GET_SUPPORTED_CPUID, list.raw)
            if result >= 0 { return list.entries }
            // The kernel says E2BIG until the buffer can hold every leaf.
            guard errno == E2BIG, capacity < 4096 else {
                throw KVMError.systemCall(operation: "KVM_GET_SUPPORTED_CPUID", errno: errno)
            }
            capacity *= 2
        }
    }

    /// MSR indices KVM can save and restore, from `KVM_GET_MSR_INDEX_LIST`.
    public func msrIndexList() throws(KVMError) -> [UInt32] {
        var capacity = 256
        while true {
            let byteCount = MemoryLayout<kvm_msr_list>.size + capacity * MemoryLayout<UInt32>.size
            let raw = UnsafeMutableRawPointer.allocate(byteCount: byteCount, alignment: 8)
            defer { raw.deallocate() }
            raw.storeBytes(of: UInt32(capacity), as: UInt32.self)
            if ioctl(fd, CKVM_GET_MSR_INDEX_LIST, raw) >= 0 {
                let count = Int(raw.load(as: UInt32.self))
                let indices = (raw + MemoryLayout<kvm_msr_list>.size).assumingMemoryBound(to: UInt32.self)
                return Array(UnsafeBufferPointer(start: indices, count: min(count, capacity)))
            }
            guard errno == E2BIG, capacity < 65536 else {
                throw KVMError.systemCall(operation: "KVM_GET_MSR_INDEX_LIST", errno: errno)
            }
            capacity *= 4
        }
    }

    /// `KVM_CREATE_VM` with the default machine type.
    public func createVM() throws(KVMError) -> VirtualMachine {
        let vmFD = ioctl(fd, CKVM_CREATE_VM, Int32(0))
        if vmFD < 0 { throw KVMError.systemCall(operation: "KVM_CREATE_VM", errno: errno) }
        return VirtualMachine(fd: vmFD, system: self)
    }
}
