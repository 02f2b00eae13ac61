import SwiftletCore

/// Guest-physical memory map of a Swiftlet x86_64 VM.
///
/// Low memory follows the Linux boot protocol's conventions (as Firecracker does): boot
/// structures below 1 MiB, the kernel at 1 MiB. RAM stops at the 32-bit MMIO hole, which is
/// left to PCI BARs, the IOAPIC and the LAPIC, and resumes at 4 GiB.
public enum X86Layout {
    public static let gdtAddress: GuestAddress = 0x500
    public static let idtAddress: GuestAddress = 0x520
    public static let zeroPageAddress: GuestAddress = 0x7000
    public static let bootStackPointer: GuestAddress = 0x8FF0
    public static let pml4Address: GuestAddress = 0x9000
    public static let pdptAddress: GuestAddress = 0xA000
    public static let pageDirectoryAddress: GuestAddress = 0xB000
    /// The kernel command line, with its terminating NUL.
    public static let commandLine = AddressRange(start: 0x20000, length: 0x10000)!
    /// [0x9FC00, 1 MiB) is reported reserved, as on a PC (EBDA and ROM area): the end of
    /// conventional memory.
    public static let biosReservedArea = AddressRange(start: 0x9FC00, length: 0x10_0000 - 0x9FC00)!
    /// 1 MiB: everything below belongs to the boot structures; the kernel is loaded here
    /// (a bzImage's protected-mode code, and where an ELF kernel's segments must start).
    public static let highMemoryStart: GuestAddress = 0x10_0000

    /// The 32-bit MMIO hole, [3 GiB, 4 GiB): no RAM, only device registers.
    public static let mmioHole = AddressRange(start: 0xC000_0000, length: 0x4000_0000)!
    /// Where PCI BARs are placed: the first 256 MiB of the hole (each virtio-pci BAR takes
    /// 32 KiB, so thousands fit).
    public static let pciMMIOWindow = AddressRange(start: 0xC000_0000, length: 0x1000_0000)!
    /// Where virtio-mmio devices' 4 KiB register windows are placed, one after the other:
    /// right after the PCI window, so the two never overlap (Firecracker's devices start at
    /// 0xD000_0000 too).
    public static let virtioMMIOWindow = AddressRange(start: 0xD000_0000, length: 0x1000_0000)!
    /// The port window the PCI host bridge forwards (described in the DSDT; no device has an
    /// I/O BAR today): everything above the PC's legacy ports, COM1, the ACPI power registers
    /// and the configuration ports, which all lie below 0x1000.
    public static let pciIOWindow = AddressRange(start: 0x1000, length: 0x1_0000 - 0x1000)!
    /// Firecracker's boot-timer page (`--boot-timer`), at the start of the hole as in its current
    /// layout. It is taken from the PCI window only when there is a boot timer.
    public static let bootTimerPage = AddressRange(start: 0xC000_0000, length: 0x1000)!
    /// The PCI window when the boot timer has its first page.
    public static let pciMMIOWindowBesideBootTimer = AddressRange(start: 0xC000_1000, length: 0x1000_0000 - 0x1000)!
    public static let ioapicAddress: GuestAddress = 0xFEC0_0000
    public static let lapicAddress: GuestAddress = 0xFEE0_0000

    /// KVM needs three pages for the TSS of real-mode emulation; put them at the top of the
    /// hole, clear of BARs (Firecracker's choice).
    public static let tssAddress: GuestAddress = 0xFFFB_D000

    /// RAM regions for `size` bytes of guest memory: below the hole, then from 4 GiB. Nil only
    /// for a size no VM can have (one that would pass the top of the address space).
    public static func ramLayout(size: UInt64) -> [AddressRange]? {
        if size <= mmioHole.start { return AddressRange(start: 0, length: size).map { [$0] } }
        guard let holeEnd = mmioHole.end, let high = AddressRange(start: holeEnd, length: size - mmioHole.start) else { return nil }
        return [AddressRange(start: 0, length: mmioHole.start)!, high]
    }
}
