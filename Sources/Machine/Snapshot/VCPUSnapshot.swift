import CKVM
import FoundationEssentials
import KVM
import X86Boot

/// Everything KVM holds for one vCPU, as captured while the vCPU is parked.
struct VCPUSnapshot: Codable, Equatable {
    struct MSR: Codable, Equatable {
        var index: UInt32
        var value: UInt64
    }

    var id: Int
    var mpState: UInt32
    var registers: Data
    var specialRegisters: Data
    var xsave: Data
    var xcrs: Data
    var debugRegisters: Data
    var lapic: Data
    var events: Data
    var msrs: [MSR]
    var cpuid: [CPUIDEntry]
    var tscKHz: UInt32

    static let tscDeadlineMSR: UInt32 = 0x6E0

    /// Captures in Firecracker's order: MP state first (it may flush pending events into the
    /// registers), vCPU events last.
    static func capture(_ vcpu: VCPU, msrIndices: [UInt32], xsaveSize: Int) throws(KVMError) -> VCPUSnapshot {
        let mpState = try vcpu.mpState().mp_state
        let registers = RawBytes.encode(try vcpu.registers())
        let specialRegisters = RawBytes.encode(try vcpu.specialRegisters())
        let xsave = Data(try vcpu.xsave(size: xsaveSize))
        let xcrs = RawBytes.encode(try vcpu.xcrs())
        let debugRegisters = RawBytes.encode(try vcpu.debugRegisters())
        let lapic = RawBytes.encode(try vcpu.lapic())
        let tscKHz = try vcpu.tscKHz()
        let cpuid = try vcpu.cpuid().map(CPUIDEntry.init)
        let msrs = try readableMSRs(vcpu, msrIndices)
        let events = RawBytes.encode(try vcpu.vcpuEvents())
        return VCPUSnapshot(
            id: vcpu.id, mpState: mpState, registers: registers, specialRegisters: specialRegisters, xsave: xsave, xcrs: xcrs,
            debugRegisters: debugRegisters, lapic: lapic, events: events, msrs: msrs, cpuid: cpuid, tscKHz: tscKHz)
    }

    /// KVM_GET_MSRS stops at the first MSR it cannot read; skip that one and carry on, so that
    /// one odd MSR in the host's list does not make snapshots impossible.
    private static func readableMSRs(_ vcpu: VCPU, _ indices: [UInt32]) throws(KVMError) -> [MSR] {
        var result: [MSR] = []
        var remaining = indices[...]
        while !remaining.isEmpty {
            let read = try vcpu.msrs(Array(remaining))
            result += read.map { MSR(index: $0.index, value: $0.value) }
            remaining = remaining.dropFirst(read.count + 1)
        }
        return result
    }

    /// Restores in the order KVM requires: CPUID before anything that checks features, SREGS
    /// before the LAPIC (APIC base), the LAPIC before MSRs (TSC deadline), REGS before events,
    /// and the TSC before the TSC deadline.
    func restore(into vcpu: VCPU, canScaleTSC: Bool) throws(MachineError) {
        do {
            try vcpu.setCPUID(cpuid.map(kvm_cpuid_entry2.init))
            // A guest calibrated its clocks against the TSC rate it booted with; keep that rate
            // on a host whose TSC differs by more than NTP would absorb (250 ppm), if KVM can.
            let hostKHz = try vcpu.tscKHz()
            if canScaleTSC, tscKHz > 0, abs(Int64(hostKHz) - Int64(tscKHz)) * 1_000_000 > Int64(tscKHz) * 250 {
                try vcpu.setTSCKHz(tscKHz)
            }
            var mp = kvm_mp_state()
            mp.mp_state = mpState
            try vcpu.setMPState(mp)
            try vcpu.setRegisters(try RawBytes.decode(kvm_regs.self, from: registers, what: "vCPU \(id) registers"))
            try vcpu.setSpecialRegisters(try RawBytes.decode(kvm_sregs.self, from: specialRegisters, what: "vCPU \(id) special registers"))
            try vcpu.setXSAVE([UInt8](xsave))
            try vcpu.setXCRs(try RawBytes.decode(kvm_xcrs.self, from: xcrs, what: "vCPU \(id) XCRs"))
            try vcpu.setDebugRegisters(try RawBytes.decode(kvm_debugregs.self, from: debugRegisters, what: "vCPU \(id) debug registers"))
            try vcpu.setLAPIC(try RawBytes.decode(kvm_lapic_state.self, from: lapic, what: "vCPU \(id) LAPIC"))
            let ordered = msrs.filter { $0.index != Self.tscDeadlineMSR } + msrs.filter { $0.index == Self.tscDeadlineMSR }
            try vcpu.setMSRs(ordered.map { ($0.index, $0.value) })
            try vcpu.setVCPUEvents(try RawBytes.decode(kvm_vcpu_events.self, from: events, what: "vCPU \(id) events"))
        } catch let error as SnapshotError {
            throw .snapshot(error)
        } catch {
            throw .snapshot(.restoringVCPU(id: id, error))
        }
        // A restored guest whose kvmclock notices the gap would warn about soft lockups.
        vcpu.notifyClockPaused()
    }
}
