import CKVM
import SwiftletCore

#if canImport(Glibc)
import Glibc
#endif

/// A KVM VM descriptor: memory slots, the in-kernel interrupt controllers and timers,
/// interrupt injection, eventfd wiring and the VM-wide state used by snapshots.
public final class VirtualMachine: Sendable {
    public let fd: Int32
    public let system: KVMSystem

    init(fd: Int32, system: KVMSystem) {
        self.fd = fd
        self.system = system
    }

    deinit { close(fd) }

    // MARK: - Set-up

    /// Where KVM keeps the three-page TSS it needs to emulate real mode (below 4 GiB).
    public func setTSSAddress(_ address: GuestAddress) throws(KVMError) {
        let result = ioctl(fd, CKVM_SET_TSS_ADDR, Int32(bitPattern: UInt32(truncatingIfNeeded: address.rawValue)))
        if result < 0 { throw KVMError.systemCall(operation: "KVM_SET_TSS_ADDR", errno: errno) }
    }

    /// Maps `guestRange.length` bytes of host memory at `hostAddress` into the guest at
    /// `guestRange.start`.
    public func setUserMemoryRegion(slot: UInt32, guestRange: AddressRange, hostAddress: UInt, flags: UInt32 = 0) throws(KVMError) {
        var region = kvm_userspace_memory_region(
            slot: slot, flags: flags, guest_phys_addr: guestRange.start, memory_size: guestRange.length, userspace_addr: UInt64(hostAddress))
        try ioctlStruct(fd, CKVM_SET_USER_MEMORY_REGION, &region, "KVM_SET_USER_MEMORY_REGION(slot \(slot))")
    }

    /// The pages of memory slot `slot` (`pageCount` pages) the guest wrote since the last
    /// call, one bit per page in 64-bit words; KVM clears the log as it hands it over. The
    /// slot must have been registered with `KVM_MEM_LOG_DIRTY_PAGES`.
    public func dirtyLog(slot: UInt32, pageCount: Int) throws(KVMError) -> [UInt64] {
        var words = [UInt64](repeating: 0, count: max((pageCount + 63) / 64, 1))
        let result = words.withUnsafeMutableBytes { bytes in
            var log = ckvm_dirty_log(slot, bytes.baseAddress)
            return withUnsafeMutablePointer(to: &log) { ioctl(fd, CKVM_GET_DIRTY_LOG, UnsafeMutableRawPointer($0)) }
        }
        if result < 0 { throw KVMError.systemCall(operation: "KVM_GET_DIRTY_LOG(slot \(slot))", errno: errno) }
        return Array(words.prefix((pageCount + 63) / 64))
    }

    /// The in-kernel PIC pair, IOAPIC and per-vCPU LAPICs.
    public func createIRQChip() throws(KVMError) {
        let result = ioctl(fd, CKVM_CREATE_IRQCHIP)
        if result < 0 { throw KVMError.systemCall(operation: "KVM_CREATE_IRQCHIP", errno: errno) }
    }

    /// The in-kernel i8254. Port 0x61's speaker bits stay in the kernel too.
    public func createPIT2() throws(KVMError) {
        var config = kvm_pit_config()
        config.flags = UInt32(KVM_PIT_SPEAKER_DUMMY)
        try ioctlStruct(fd, CKVM_CREATE_PIT2, &config, "KVM_CREATE_PIT2")
    }

    public func createVCPU(id: Int) throws(KVMError) -> VCPU {
        let vcpuFD = ioctl(fd, CKVM_CREATE_VCPU, Int32(id))
        if vcpuFD < 0 { throw KVMError.systemCall(operation: "KVM_CREATE_VCPU(\(id))", errno: errno) }
        do {
            return try VCPU(fd: vcpuFD, id: id, mmapSize: try system.vcpuMmapSize())
        } catch {
            close(vcpuFD)
            throw error
        }
    }

    // MARK: - Interrupts

    /// Drives a GSI of the in-kernel PIC/IOAPIC to `level`.
    public func setIRQLine(_ gsi: UInt32, level: Bool) throws(KVMError) {
        var line = kvm_irq_level()
        line.irq = gsi
        line.level = level ? 1 : 0
        try ioctlStruct(fd, CKVM_IRQ_LINE, &line, "KVM_IRQ_LINE(\(gsi))")
    }

    /// Injects one message-signalled interrupt. Returns false if the guest blocked it.
    @discardableResult
    public func signalMSI(address: UInt64, data: UInt32) throws(KVMError) -> Bool {
        var message = kvm_msi()
        message.address_lo = UInt32(truncatingIfNeeded: address)
        message.address_hi = UInt32(truncatingIfNeeded: address >> 32)
        message.data = data
        let result = withUnsafeMutablePointer(to: &message) { ioctl(fd, CKVM_SIGNAL_MSI, UnsafeMutableRawPointer($0)) }
        if result < 0 { throw KVMError.systemCall(operation: "KVM_SIGNAL_MSI", errno: errno) }
        return result > 0
    }

    /// Makes a write of `length` bytes to guest-physical `address` signal `eventFD` inside the
    /// kernel instead of exiting to the vCPU thread. With `datamatch`, only writes of that value
    /// do (virtio-mmio: every queue is notified at one address, with its index as the value).
    public func registerIoeventfd(_ eventFD: Int32, mmioAddress address: UInt64, length: UInt32, datamatch: UInt64? = nil) throws(KVMError) {
        var request = Self.ioeventfdRequest(eventFD, address: address, length: length, datamatch: datamatch)
        try ioctlStruct(fd, CKVM_IOEVENTFD, &request, "KVM_IOEVENTFD(0x\(String(address, radix: 16)))")
    }

    /// Removes a registration; `datamatch` must be the one it was registered with.
    public func unregisterIoeventfd(_ eventFD: Int32, mmioAddress address: UInt64, length: UInt32, datamatch: UInt64? = nil) throws(KVMError) {
        var request = Self.ioeventfdRequest(eventFD, address: address, length: length, datamatch: datamatch)
        request.flags |= UInt32(1 << kvm_ioeventfd_flag_nr_deassign)
        try ioctlStruct(fd, CKVM_IOEVENTFD, &request, "KVM_IOEVENTFD(deassign)")
    }

    private static func ioeventfdRequest(_ eventFD: Int32, address: UInt64, length: UInt32, datamatch: UInt64?) -> kvm_ioeventfd {
        var request = kvm_ioeventfd()
        request.addr = address
        request.len = length
        request.fd = eventFD
        if let datamatch {
            request.datamatch = datamatch
            request.flags = UInt32(1 << kvm_ioeventfd_flag_nr_datamatch)
        }
        return request
    }

    // MARK: - VM-wide state for snapshots

    public func irqchip(_ chipID: UInt32) throws(KVMError) -> kvm_irqchip {
        var chip = kvm_irqchip()
        chip.chip_id = chipID
        try ioctlStruct(fd, CKVM_GET_IRQCHIP, &chip, "KVM_GET_IRQCHIP(\(chipID))")
        return chip
    }

    public func setIRQChip(_ chip: kvm_irqchip) throws(KVMError) {
        var chip = chip
        let chipID = chip.chip_id
        try ioctlStruct(fd, CKVM_SET_IRQCHIP, &chip, "KVM_SET_IRQCHIP(\(chipID))")
    }

    public func pit2() throws(KVMError) -> kvm_pit_state2 {
        var state = kvm_pit_state2()
        try ioctlStruct(fd, CKVM_GET_PIT2, &state, "KVM_GET_PIT2")
        return state
    }

    public func setPIT2(_ state: kvm_pit_state2) throws(KVMError) {
        var state = state
        try ioctlStruct(fd, CKVM_SET_PIT2, &state, "KVM_SET_PIT2")
    }

    public func clock() throws(KVMError) -> kvm_clock_data {
        var data = kvm_clock_data()
        try ioctlStruct(fd, CKVM_GET_CLOCK, &data, "KVM_GET_CLOCK")
        return data
    }

    public func setClock(_ data: kvm_clock_data) throws(KVMError) {
        var data = data
        // Only the clock value is restored; flags from GET (e.g. TSC_STABLE) are not inputs.
        data.flags = 0
        try ioctlStruct(fd, CKVM_SET_CLOCK, &data, "KVM_SET_CLOCK")
    }
}
