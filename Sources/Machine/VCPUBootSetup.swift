import CKVM
import KVM
import SwiftletCore
import X86Boot

/// Puts a vCPU into the state the 64-bit boot protocol promises the kernel.
enum VCPUBootSetup {
    static func configure(_ vcpu: VCPU, boot: BootCPUState, cpuid: [kvm_cpuid_entry2], vcpuCount: Int) throws(KVMError) {
        // CPUID must precede the MSRs: KVM checks MSR writes against the guest's CPUID.
        let patched = CPUIDPolicy.patch(cpuid.map(CPUIDEntry.init), vcpuIndex: vcpu.id, vcpuCount: vcpuCount)
        try vcpu.setCPUID(patched.map(kvm_cpuid_entry2.init))
        try vcpu.setMSRs(BootMSRs.entries)
        try configureLocalAPIC(vcpu)
        guard vcpu.id == 0 else {
            // Application processors wait for INIT/SIPI from the BSP, as on real hardware:
            // Linux starts them itself once the MADT has told it they exist.
            var waitForSIPI = kvm_mp_state()
            waitForSIPI.mp_state = UInt32(KVM_MP_STATE_UNINITIALIZED)
            try vcpu.setMPState(waitForSIPI)
            return
        }

        var fpu = kvm_fpu()
        fpu.fcw = BootFPU.fcw
        fpu.mxcsr = BootFPU.mxcsr
        try vcpu.setFPU(fpu)

        var regs = kvm_regs()
        regs.rip = boot.rip
        regs.rsp = boot.rsp
        regs.rbp = boot.rbp
        regs.rsi = boot.rsi
        regs.rflags = boot.rflags
        try vcpu.setRegisters(regs)

        var sregs = try vcpu.specialRegisters()
        sregs.cs = kvm_segment(boot.code)
        let data = kvm_segment(boot.data)
        sregs.ds = data
        sregs.es = data
        sregs.fs = data
        sregs.gs = data
        sregs.ss = data
        sregs.tr = kvm_segment(boot.task)
        sregs.gdt.base = boot.gdt.base
        sregs.gdt.limit = boot.gdt.limit
        sregs.idt.base = boot.idt.base
        sregs.idt.limit = boot.idt.limit
        sregs.cr0 = boot.cr0
        sregs.cr3 = boot.cr3
        sregs.cr4 = boot.cr4
        sregs.efer = boot.efer
        try vcpu.setSpecialRegisters(sregs)
    }

    /// The local interrupt pins as firmware leaves them (virtual-wire mode, which the MADT's
    /// PCAT_COMPAT and the MP table describe): on the BSP, LINT0 delivers the 8259's
    /// interrupts (ExtINT), which Linux relies on until it switches to the IOAPIC; on an AP
    /// it is masked, since only one CPU may take ExtINT. LINT1 delivers NMIs on every CPU,
    /// as the MADT's Local APIC NMI entry says.
    static func localInterruptPins(isBootstrapProcessor: Bool) -> (lint0: UInt32, lint1: UInt32) {
        let extINT: UInt32 = 0x7 << 8, nmi: UInt32 = 0x4 << 8, masked: UInt32 = 1 << 16
        return (isBootstrapProcessor ? extINT : extINT | masked, nmi)
    }

    static let lvtLINT0Offset = 0x350
    static let lvtLINT1Offset = 0x360

    private static func configureLocalAPIC(_ vcpu: VCPU) throws(KVMError) {
        var lapic = try vcpu.lapic()
        let pins = localInterruptPins(isBootstrapProcessor: vcpu.id == 0)
        withUnsafeMutableBytes(of: &lapic.regs) { registers in
            registers.storeLittleEndian(pins.lint0, at: lvtLINT0Offset)
            registers.storeLittleEndian(pins.lint1, at: lvtLINT1Offset)
        }
        try vcpu.setLAPIC(lapic)
    }
}

extension CPUIDEntry {
    init(_ entry: kvm_cpuid_entry2) {
        self.init(function: entry.function, index: entry.index, flags: entry.flags, eax: entry.eax, ebx: entry.ebx, ecx: entry.ecx, edx: entry.edx)
    }
}

extension kvm_cpuid_entry2 {
    init(_ entry: CPUIDEntry) {
        self.init()
        function = entry.function
        index = entry.index
        flags = entry.flags
        eax = entry.eax
        ebx = entry.ebx
        ecx = entry.ecx
        edx = entry.edx
    }
}

extension kvm_segment {
    init(_ segment: SegmentDescriptor) {
        self.init()
        base = segment.base
        limit = segment.limit
        selector = segment.selector
        type = segment.type
        present = segment.present
        dpl = segment.dpl
        db = segment.db
        s = segment.s
        l = segment.l
        g = segment.g
        avl = segment.avl
    }
}
