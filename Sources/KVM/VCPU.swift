import CKVM
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A vCPU descriptor and its shared `kvm_run` page.
///
/// - Note: `@unchecked Sendable` because `kvm_run` is shared with the kernel and is only
///   read or written by the thread running this vCPU, except `immediate_exit`, which
///   `kick()` sets from any thread exactly as the KVM API intends.
public final class VCPU: @unchecked Sendable {
    public let fd: Int32
    public let id: Int
    public let run: UnsafeMutablePointer<kvm_run>
    /// Size of the `kvm_run` mapping, which bounds the port I/O data area.
    public let mmapSize: Int
    /// The thread currently inside `runOnce()`, so that `kick()` can interrupt it.
    private let runningThread = Mutex<pthread_t?>(nil)

    init(fd: Int32, id: Int, mmapSize: Int) throws(KVMError) {
        guard let mapping = mmap(nil, mmapSize, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0), mapping != MAP_FAILED else {
            throw KVMError.systemCall(operation: "mmap kvm_run of vCPU \(id)", errno: errno)
        }
        self.fd = fd
        self.id = id
        self.mmapSize = mmapSize
        self.run = mapping.assumingMemoryBound(to: kvm_run.self)
    }

    deinit {
        munmap(run, mmapSize)
        close(fd)
    }

    // MARK: - Running

    /// Records the calling thread as this vCPU's thread. Call once from the thread that will
    /// call `runOnce()`, before the first kick can arrive.
    public func bindToCurrentThread() {
        VCPUKick.installHandler()
        // Dispatch's worker threads start with most signals blocked; a blocked kick would sit
        // pending while the guest idles in HLT inside KVM_RUN, and pause would wait forever.
        var kickOnly = sigset_t()
        sigemptyset(&kickOnly)
        sigaddset(&kickOnly, ckvm_kick_signal())
        pthread_sigmask(SIG_UNBLOCK, &kickOnly, nil)
        runningThread.withLock { $0 = pthread_self() }
    }

    /// What the last `runOnce()` returned. After `.exited`, KVM's state for the vCPU is
    /// complete only once `KVM_RUN` is entered again (it then finishes an I/O or MMIO access:
    /// stores an IN's data, retires the instruction); after `.interrupted` nothing is pending.
    /// Read it on the vCPU's thread, or while that thread is parked.
    public var lastOutcome: RunOutcome? {
        switch lastOutcomeCode.load(ordering: .relaxed) {
        case Self.exitedCode: return .exited
        case Self.interruptedCode: return .interrupted
        default: return nil
        }
    }

    /// `lastOutcome`, stored in an atomic rather than a `var`: a class's `var` written on every
    /// exit costs a dynamic exclusivity check (`swift_beginAccess`, a thread-local lookup),
    /// which showed up in the exit path's profile. Relaxed: readers are ordered by the parking.
    private let lastOutcomeCode = Atomic<UInt8>(0)
    private static let exitedCode: UInt8 = 1, interruptedCode: UInt8 = 2

    /// One `KVM_RUN`. EINTR is not retried here: it is how a kick reports itself, and the
    /// caller must look at why it was kicked before running again.
    public func runOnce() throws(KVMError) -> RunOutcome {
        if ioctl(fd, CKVM_RUN) == 0 {
            lastOutcomeCode.store(Self.exitedCode, ordering: .relaxed)
            return .exited
        }
        let error = errno
        if error == EINTR || error == EAGAIN {
            run.pointee.immediate_exit = 0
            lastOutcomeCode.store(Self.interruptedCode, ordering: .relaxed)
            return .interrupted
        }
        throw KVMError.systemCall(operation: "KVM_RUN on vCPU \(id)", errno: error)
    }

    /// The exit `kvm_run` describes after `runOnce()` returned `.exited`.
    public var exit: VCPUExit { VCPUExit(run: UnsafeMutableRawPointer(run), mappingSize: mmapSize) }

    /// Makes the vCPU thread leave `KVM_RUN` promptly: `immediate_exit` covers the window
    /// before the thread enters the kernel, the signal covers a thread already inside.
    public func kick() {
        run.pointee.immediate_exit = 1
        atomicMemoryFence(ordering: .sequentiallyConsistent)
        if let thread = runningThread.withLock({ $0 }) {
            pthread_kill(thread, ckvm_kick_signal())
        }
    }

    // MARK: - Register state

    public func registers() throws(KVMError) -> kvm_regs {
        var value = kvm_regs()
        try ioctlStruct(fd, CKVM_GET_REGS, &value, "KVM_GET_REGS")
        return value
    }

    public func setRegisters(_ value: kvm_regs) throws(KVMError) {
        var value = value
        try ioctlStruct(fd, CKVM_SET_REGS, &value, "KVM_SET_REGS")
    }

    public func specialRegisters() throws(KVMError) -> kvm_sregs {
        var value = kvm_sregs()
        try ioctlStruct(fd, CKVM_GET_SREGS, &value, "KVM_GET_SREGS")
        return value
    }

    public func setSpecialRegisters(_ value: kvm_sregs) throws(KVMError) {
        var value = value
        try ioctlStruct(fd, CKVM_SET_SREGS, &value, "KVM_SET_SREGS")
    }

    public func fpu() throws(KVMError) -> kvm_fpu {
        var value = kvm_fpu()
        try ioctlStruct(fd, CKVM_GET_FPU, &value, "KVM_GET_FPU")
        return value
    }

    public func setFPU(_ value: kvm_fpu) throws(KVMError) {
        var value = value
        try ioctlStruct(fd, CKVM_SET_FPU, &value, "KVM_SET_FPU")
    }

    public func lapic() throws(KVMError) -> kvm_lapic_state {
        var value = kvm_lapic_state()
        try ioctlStruct(fd, CKVM_GET_LAPIC, &value, "KVM_GET_LAPIC")
        return value
    }

    public func setLAPIC(_ value: kvm_lapic_state) throws(KVMError) {
        var value = value
        try ioctlStruct(fd, CKVM_SET_LAPIC, &value, "KVM_SET_LAPIC")
    }

    public func mpState() throws(KVMError) -> kvm_mp_state {
        var value = kvm_mp_state()
        try ioctlStruct(fd, CKVM_GET_MP_STATE, &value, "KVM_GET_MP_STATE")
        return value
    }

    public func setMPState(_ value: kvm_mp_state) throws(KVMError) {
        var value = value
        try ioctlStruct(fd, CKVM_SET_MP_STATE, &value, "KVM_SET_MP_STATE")
    }

    public func vcpuEvents() throws(KVMError) -> kvm_vcpu_events {
        var value = kvm_vcpu_events()
        try ioctlStruct(fd, CKVM_GET_VCPU_EVENTS, &value, "KVM_GET_VCPU_EVENTS")
        return value
    }

    public func setVCPUEvents(_ value: kvm_vcpu_events) throws(KVMError) {
        var value = value
        try ioctlStruct(fd, CKVM_SET_VCPU_EVENTS, &value, "KVM_SET_VCPU_EVENTS")
    }

    public func debugRegisters() throws(KVMError) -> kvm_debugregs {
        var value = kvm_debugregs()
        try ioctlStruct(fd, CKVM_GET_DEBUGREGS, &value, "KVM_GET_DEBUGREGS")
        return value
    }

    public func setDebugRegisters(_ value: kvm_debugregs) throws(KVMError) {
        var value = value
        try ioctlStruct(fd, CKVM_SET_DEBUGREGS, &value, "KVM_SET_DEBUGREGS")
    }

    public func xcrs() throws(KVMError) -> kvm_xcrs {
        var value = kvm_xcrs()
        try ioctlStruct(fd, CKVM_GET_XCRS, &value, "KVM_GET_XCRS")
        return value
    }

    public func setXCRs(_ value: kvm_xcrs) throws(KVMError) {
        var value = value
        try ioctlStruct(fd, CKVM_SET_XCRS, &value, "KVM_SET_XCRS")
    }

    /// The XSAVE area as raw bytes; `size` comes from `KVM_CAP_XSAVE2` (at least 4096).
    public func xsave(size: Int) throws(KVMError) -> [UInt8] {
        let byteCount = max(size, MemoryLayout<kvm_xsave>.size)
        var bytes = [UInt8](repeating: 0, count: byteCount)
        let request = size > MemoryLayout<kvm_xsave>.size ? CKVM_GET_XSAVE2 : CKVM_GET_XSAVE
        let result = bytes.withUnsafeMutableBytes { ioctl(fd, request, $0.baseAddress!) }
        if result < 0 { throw KVMError.systemCall(operation: "KVM_GET_XSAVE", errno: errno) }
        return bytes
    }

    public func setXSAVE(_ bytes: [UInt8]) throws(KVMError) {
        var bytes = bytes
        if bytes.count < MemoryLayout<kvm_xsave>.size {
            bytes += [UInt8](repeating: 0, count: MemoryLayout<kvm_xsave>.size - bytes.count)
        }
        let result = bytes.withUnsafeMutableBytes { ioctl(fd, CKVM_SET_XSAVE, $0.baseAddress!) }
        if result < 0 { throw KVMError.systemCall(operation: "KVM_SET_XSAVE", errno: errno) }
    }

    public func tscKHz() throws(KVMError) -> UInt32 {
        let result = ioctl(fd, CKVM_GET_TSC_KHZ)
        if result < 0 { throw KVMError.systemCall(operation: "KVM_GET_TSC_KHZ", errno: errno) }
        return UInt32(result)
    }

    public func setTSCKHz(_ khz: UInt32) throws(KVMError) {
        let result = ioctl(fd, CKVM_SET_TSC_KHZ, Int32(bitPattern: khz))
        if result < 0 { throw KVMError.systemCall(operation: "KVM_SET_TSC_KHZ", errno: errno) }
    }

    /// Tells a paused guest's kvmclock that the pause was the host's doing, so that its
    /// soft-lockup watchdog does not fire on resume. EINVAL means the guest never enabled
    /// kvmclock, which is not an error for us.
    @discardableResult
    public func notifyClockPaused() -> Bool {
        ioctl(fd, CKVM_KVMCLOCK_CTRL) == 0
    }

    // MARK: - CPUID and MSRs

    public func setCPUID(_ entries: [kvm_cpuid_entry2]) throws(KVMError) {
        let list = CPUIDList(entries: entries)
        try checkedIoctl(fd, CKVM_SET_CPUID2, list.raw, "KVM_SET_CPUID2")
    }

    public func cpuid() throws(KVMError) -> [kvm_cpuid_entry2] {
        let list = CPUIDList(capacity: 256)
        try checkedIoctl(fd, CKVM_GET_CPUID2, list.raw, "KVM_GET_CPUID2")
        return list.entries
    }

    /// Reads the given MSRs; returns only those KVM could read, in order.
    public func msrs(_ indices: [UInt32]) throws(KVMError) -> [(index: UInt32, value: UInt64)] {
        let list = MSRList(entries: indices.map { ($0, 0) })
        let count = try checkedIoctl(fd, CKVM_GET_MSRS, list.raw, "KVM_GET_MSRS")
        return Array(list.entries.prefix(Int(count)))
    }

    /// Writes MSRs; throws unless KVM accepted every one of them.
    public func setMSRs(_ entries: [(index: UInt32, value: UInt64)]) throws(KVMError) {
        let list = MSRList(entries: entries)
        let count = try checkedIoctl(fd, CKVM_SET_MSRS, list.raw, "KVM_SET_MSRS")
        if Int(count) != entries.count {
            let refused = entries[Int(count)].index
            throw KVMError.systemCall(operation: "KVM_SET_MSRS (MSR 0x\(String(refused, radix: 16)) refused)", errno: EINVAL)
        }
    }
}

/// The no-op handler for the kick signal: its only job is to make `KVM_RUN` return EINTR.
/// An ignored signal would not interrupt the ioctl, so a real handler must be installed.
enum VCPUKick {
    private static let installed = Mutex(false)

    static func installHandler() {
        installed.withLock { done in
            guard !done else { return }
            var action = sigaction()
            action.__sigaction_handler.sa_handler = { _ in }
            sigemptyset(&action.sa_mask)
            action.sa_flags = 0
            sigaction(ckvm_kick_signal(), &action, nil)
            done = true
        }
    }
}
