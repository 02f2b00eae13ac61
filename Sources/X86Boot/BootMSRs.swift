/// MSR values every vCPU gets before it first runs, so that no syscall/sysenter target or
/// TSC value is left over from whatever KVM initialised.
public enum BootMSRs {
    public static let sysenterCS: UInt32 = 0x174
    public static let sysenterESP: UInt32 = 0x175
    public static let sysenterEIP: UInt32 = 0x176
    public static let star: UInt32 = 0xC000_0081
    public static let lstar: UInt32 = 0xC000_0082
    public static let cstar: UInt32 = 0xC000_0083
    public static let syscallMask: UInt32 = 0xC000_0084
    public static let kernelGSBase: UInt32 = 0xC000_0102
    public static let timeStampCounter: UInt32 = 0x10
    public static let miscEnable: UInt32 = 0x1A0
    public static let mtrrDefaultType: UInt32 = 0x2FF

    /// MISC_ENABLE bit 0: fast string operations (`rep movs`), which Linux expects to be on.
    public static let miscEnableFastStrings: UInt64 = 1
    /// MTRRs enabled (bit 11) with write-back (6) as the default memory type.
    public static let mtrrDefaultWriteBack: UInt64 = (1 << 11) | 6

    public static let entries: [(index: UInt32, value: UInt64)] = [
        (sysenterCS, 0),
        (sysenterESP, 0),
        (sysenterEIP, 0),
        (star, 0),
        (lstar, 0),
        (cstar, 0),
        (syscallMask, 0),
        (kernelGSBase, 0),
        (timeStampCounter, 0),
        (miscEnable, miscEnableFastStrings),
        (mtrrDefaultType, mtrrDefaultWriteBack),
    ]
}

/// FPU state at reset (Intel SDM vol. 1, 8.1.5 and 10.2.3): all exceptions masked.
public enum BootFPU {
    public static let fcw: UInt16 = 0x37F
    public static let mxcsr: UInt32 = 0x1F80
}
