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
        guard vcpu.id == 0 else { return }  // APs wait for INIT/SIPI from the BSP.

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

    /// Virtual-wire mode: LINT0 delivers the 8259's interrupts (ExtINT) and LINT1 the NMI.
    /// Without an MP table or ACPI, Linux keeps using the PIC through LINT0, so this is what
    /// makes the serial port's and the timer's interrupts reach the guest.
    private static func configureLocalAPIC(_ vcpu: VCPU) throws(KVMError) {
        var lapic = try vcpu.lapic()
        let lvtLINT0 = 0x350, lvtLINT1 = 0x360
        let extINT: UInt32 = 0x7 << 8, nmi: UInt32 = 0x4 << 8
        let deliveryModeMask: UInt32 = 0x700
        withUnsafeMutableBytes(of: &lapic.regs) { registers in
            for (offset, mode) in [(lvtLINT0, extINT), (lvtLINT1, nmi)] {
                guard let entry = UnsafeRawBufferPointer(registers).loadLittleEndian(UInt32.self, at: offset) else { continue }
                registers.storeLittleEndian((entry & ~deliveryModeMask) | mode, at: offset)
            }
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
