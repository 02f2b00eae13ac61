/// Registers a vCPU enters the kernel with: 64-bit long mode, paging on the identity map,
/// interrupts off, RSI pointing at the zero page (boot.rst, "64-bit Boot Protocol").
public struct BootCPUState: Sendable, Equatable {
    public var rip: UInt64
    public var rsp: UInt64
    public var rbp: UInt64
    public var rsi: UInt64
    public var rflags: UInt64
    public var cr0: UInt64
    public var cr3: UInt64
    public var cr4: UInt64
    public var efer: UInt64
    public var gdt: DescriptorTable
    public var idt: DescriptorTable
    /// CS.
    public var code: SegmentDescriptor
    /// DS, ES, FS, GS and SS.
    public var data: SegmentDescriptor
    /// TR.
    public var task: SegmentDescriptor

    public static let cr0ProtectionEnable: UInt64 = 1 << 0
    public static let cr0ExtensionType: UInt64 = 1 << 4
    public static let cr0Paging: UInt64 = 1 << 31
    public static let cr4PAE: UInt64 = 1 << 5
    public static let eferLongModeEnable: UInt64 = 1 << 8
    public static let eferLongModeActive: UInt64 = 1 << 10
    /// Bit 1 of RFLAGS is reserved and always set; IF stays clear.
    public static let rflagsReserved: UInt64 = 1 << 1

    /// The state for entering 64-bit code at `entry`.
    public init(entry: UInt64) {
        rip = entry
        rsp = X86Layout.bootStackPointer.rawValue
        rbp = X86Layout.bootStackPointer.rawValue
        rsi = X86Layout.zeroPageAddress.rawValue
        rflags = Self.rflagsReserved
        cr0 = Self.cr0ProtectionEnable | Self.cr0ExtensionType | Self.cr0Paging
        cr3 = BootPageTables.cr3
        cr4 = Self.cr4PAE
        efer = Self.eferLongModeEnable | Self.eferLongModeActive
        gdt = BootGDT.table
        idt = BootGDT.idt
        code = BootGDT.code
        data = BootGDT.data
        task = BootGDT.task
    }
}
