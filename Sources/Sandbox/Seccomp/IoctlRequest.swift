import CKVM
import CTap

#if canImport(Glibc)
import Glibc
#endif

/// ioctl request numbers by name, so that allowlists (in Swift and in filter files) name the
/// requests they allow instead of listing magic numbers.
public enum IoctlRequest {
    public static func value(named name: String) -> UInt64? { byName[name] }

    static let byName: [String: UInt64] = {
        var table: [String: UInt64] = [:]
        for (name, value) in kvm { table[name] = UInt64(value) }
        for (name, value) in terminal { table[name] = UInt64(value) }
        for (name, value) in tap { table[name] = UInt64(value) }
        return table
    }()

    /// Every KVM request Swiftlet issues (Sources/CKVM).
    static let kvm: [(String, UInt)] = [
        ("KVM_GET_API_VERSION", CKVM_GET_API_VERSION), ("KVM_CREATE_VM", CKVM_CREATE_VM),
        ("KVM_CHECK_EXTENSION", CKVM_CHECK_EXTENSION), ("KVM_GET_VCPU_MMAP_SIZE", CKVM_GET_VCPU_MMAP_SIZE),
        ("KVM_GET_SUPPORTED_CPUID", CKVM_GET_SUPPORTED_CPUID), ("KVM_GET_MSR_INDEX_LIST", CKVM_GET_MSR_INDEX_LIST),
        ("KVM_CREATE_VCPU", CKVM_CREATE_VCPU), ("KVM_SET_USER_MEMORY_REGION", CKVM_SET_USER_MEMORY_REGION),
        ("KVM_GET_DIRTY_LOG", CKVM_GET_DIRTY_LOG),
        ("KVM_SET_TSS_ADDR", CKVM_SET_TSS_ADDR), ("KVM_SET_IDENTITY_MAP_ADDR", CKVM_SET_IDENTITY_MAP_ADDR),
        ("KVM_CREATE_IRQCHIP", CKVM_CREATE_IRQCHIP), ("KVM_CREATE_PIT2", CKVM_CREATE_PIT2),
        ("KVM_IRQ_LINE", CKVM_IRQ_LINE), ("KVM_IRQ_LINE_STATUS", CKVM_IRQ_LINE_STATUS),
        ("KVM_SIGNAL_MSI", CKVM_SIGNAL_MSI), ("KVM_IRQFD", CKVM_IRQFD), ("KVM_IOEVENTFD", CKVM_IOEVENTFD),
        ("KVM_GET_IRQCHIP", CKVM_GET_IRQCHIP), ("KVM_SET_IRQCHIP", CKVM_SET_IRQCHIP),
        ("KVM_GET_PIT2", CKVM_GET_PIT2), ("KVM_SET_PIT2", CKVM_SET_PIT2),
        ("KVM_GET_CLOCK", CKVM_GET_CLOCK), ("KVM_SET_CLOCK", CKVM_SET_CLOCK),
        ("KVM_RUN", CKVM_RUN), ("KVM_GET_REGS", CKVM_GET_REGS), ("KVM_SET_REGS", CKVM_SET_REGS),
        ("KVM_GET_SREGS", CKVM_GET_SREGS), ("KVM_SET_SREGS", CKVM_SET_SREGS),
        ("KVM_GET_FPU", CKVM_GET_FPU), ("KVM_SET_FPU", CKVM_SET_FPU),
        ("KVM_GET_XSAVE", CKVM_GET_XSAVE), ("KVM_GET_XSAVE2", CKVM_GET_XSAVE2), ("KVM_SET_XSAVE", CKVM_SET_XSAVE),
        ("KVM_GET_XCRS", CKVM_GET_XCRS), ("KVM_SET_XCRS", CKVM_SET_XCRS),
        ("KVM_GET_DEBUGREGS", CKVM_GET_DEBUGREGS), ("KVM_SET_DEBUGREGS", CKVM_SET_DEBUGREGS),
        ("KVM_GET_LAPIC", CKVM_GET_LAPIC), ("KVM_SET_LAPIC", CKVM_SET_LAPIC),
        ("KVM_GET_MSRS", CKVM_GET_MSRS), ("KVM_SET_MSRS", CKVM_SET_MSRS),
        ("KVM_GET_MP_STATE", CKVM_GET_MP_STATE), ("KVM_SET_MP_STATE", CKVM_SET_MP_STATE),
        ("KVM_GET_VCPU_EVENTS", CKVM_GET_VCPU_EVENTS), ("KVM_SET_VCPU_EVENTS", CKVM_SET_VCPU_EVENTS),
        ("KVM_SET_CPUID2", CKVM_SET_CPUID2), ("KVM_GET_CPUID2", CKVM_GET_CPUID2),
        ("KVM_GET_TSC_KHZ", CKVM_GET_TSC_KHZ), ("KVM_SET_TSC_KHZ", CKVM_SET_TSC_KHZ),
        ("KVM_KVMCLOCK_CTRL", CKVM_KVMCLOCK_CTRL),
    ]

    /// The terminal and descriptor requests of the console (raw mode) and the C library.
    static let terminal: [(String, UInt)] = [
        ("TCGETS", UInt(TCGETS)), ("TCSETS", UInt(TCSETS)), ("TCSETSW", UInt(TCSETSW)), ("TCSETSF", UInt(TCSETSF)),
        ("TIOCGWINSZ", UInt(TIOCGWINSZ)), ("FIONREAD", UInt(FIONREAD)), ("FIONBIO", UInt(FIONBIO)), ("FIOCLEX", UInt(FIOCLEX)),
        // libdispatch asks how much a socket has queued when a source fires: SIOCINQ (FIONREAD)
        // for a read source, SIOCOUTQ (TIOCOUTQ) for a write source (vsock's host sockets).
        ("TIOCOUTQ", UInt(TIOCOUTQ)),
    ]

    /// The tap device's requests (virtio-net): attaching, the header size, the offloads, and
    /// the interface lookup before the tap is opened.
    static let tap: [(String, UInt)] = [
        ("TUNSETIFF", UInt(CTAP_TUNSETIFF)), ("TUNSETVNETHDRSZ", UInt(CTAP_TUNSETVNETHDRSZ)),
        ("TUNSETOFFLOAD", UInt(CTAP_TUNSETOFFLOAD)), ("SIOCGIFINDEX", UInt(CTAP_SIOCGIFINDEX)),
    ]

    /// The values for `names`, which must all be in the table (the built-in allowlists use it).
    static func values(_ names: [String]) -> [UInt64] {
        names.map { name in
            guard let value = byName[name] else { preconditionFailure("built-in allowlist names unknown ioctl \(name)") }
            return value
        }
    }
}
