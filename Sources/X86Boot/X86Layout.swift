/// Guest-physical memory map of a Swiftlet x86_64 VM.
///
/// Low memory follows the Linux boot protocol's conventions (as Firecracker does): boot
/// structures below 1 MiB, the kernel at 1 MiB. RAM stops at the 32-bit MMIO hole, which is
/// left to PCI BARs, the IOAPIC and the LAPIC, and resumes at 4 GiB.
public enum X86Layout {
    public static let gdtAddress: UInt64 = 0x500
    public static let idtAddress: UInt64 = 0x520
    public static let zeroPageAddress: UInt64 = 0x7000
    public static let bootStackPointer: UInt64 = 0x8FF0
    public static let pml4Address: UInt64 = 0x9000
    public static let pdptAddress: UInt64 = 0xA000
    public static let pageDirectoryAddress: UInt64 = 0xB000
    public static let commandLineAddress: UInt64 = 0x20000
    public static let commandLineMaxSize: UInt64 = 0x10000
    /// End of conventional memory; [0x9FC00, 1 MiB) is reported reserved (EBDA, ROM area).
    public static let ebdaStart: UInt64 = 0x9FC00
    public static let highMemoryStart: UInt64 = 0x10_0000
    public static let kernelLoadAddress: UInt64 = 0x10_0000

    /// The 32-bit MMIO hole: [mmioHoleStart, 4 GiB).
    public static let mmioHoleStart: UInt64 = 0xC000_0000
    public static let mmioHoleEnd: UInt64 = 0x1_0000_0000
    /// Where PCI BARs are placed, inside the hole and below the IOAPIC/LAPIC pages.
    public static let pciMMIOStart: UInt64 = 0xC000_0000
    public static let pciMMIOEnd: UInt64 = 0xFEC0_0000
    public static let ioapicAddress: UInt64 = 0xFEC0_0000
    public static let lapicAddress: UInt64 = 0xFEE0_0000

    /// KVM needs three pages for the TSS of real-mode emulation; put them at the top of the
    /// hole, clear of BARs (Firecracker's choice).
    public static let tssAddress: UInt64 = 0xFFFB_D000

    /// RAM regions for `size` bytes of guest memory: below the hole, then from 4 GiB.
    public static func ramLayout(size: UInt64) -> [(base: UInt64, size: UInt64)] {
        if size <= mmioHoleStart { return [(0, size)] }
        return [(0, mmioHoleStart), (mmioHoleEnd, size - mmioHoleStart)]
    }
}
