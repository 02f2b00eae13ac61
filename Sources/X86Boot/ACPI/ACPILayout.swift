import SwiftletCore

/// Where the ACPI tables live in guest-physical memory.
///
/// Linux finds the RSDP through `boot_params.acpi_rsdp_addr`, or, for a loader that does not
/// set it, by scanning the BIOS area 0xE0000–0xFFFFF on 16-byte boundaries; putting it at the
/// start of that area serves both. The other tables follow it in the same area. The whole
/// area lies inside [0x9FC00, 1 MiB), which the e820 map reports reserved, so the guest
/// never hands these pages out as RAM.
public enum ACPILayout {
    /// The RSDP: 16-byte aligned, at the bottom of the area Linux scans.
    public static let rsdpAddress: GuestAddress = 0xE_0000
    /// The XSDT, FADT, MADT and DSDT, each 16-byte aligned, in this order of addresses:
    /// DSDT, FADT, MADT, XSDT. The area ends at 1 MiB, where the kernel is loaded.
    public static let tablesArea = AddressRange(start: 0xE_1000, length: 0x10_0000 - 0xE_1000)!
    /// Each table starts on this boundary (ACPI asks for none; 16 keeps dumps readable and
    /// matches what the RSDP scan needs).
    public static let tableAlignment: UInt64 = 16
}
