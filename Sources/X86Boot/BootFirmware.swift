import SwiftletCore

/// The firmware tables a booted machine gets: ACPI (RSDP, XSDT, FADT, MADT, DSDT) for Linux
/// to find its CPUs, interrupt controllers, PCI bus and power controls, and the MP table for
/// kernels that run without ACPI, and a reset-vector stub for Linux's BIOS reboot fallback
/// (`ResetVector`). All of it lies in the BIOS area the e820 map reports
/// reserved, so the guest never takes those pages for RAM and the map needs no change.
public struct BootFirmware: Sendable, Equatable {
    public let regions: [FirmwareRegion]
    /// For `boot_params.acpi_rsdp_addr`.
    public let acpiRSDPAddress: GuestAddress

    /// The tables for this machine's shape: `vcpuCount` processors, the PCI windows of
    /// `X86Layout`, the legacy interrupt overrides, and the virtio-mmio devices (if any) as
    /// `LNRO0005` devices in the DSDT.
    public static func build(vcpuCount: Int, virtioMMIODevices: [VirtioMMIODeviceDescription] = []) throws(FirmwareTableError) -> BootFirmware {
        let acpi = try ACPITables.build(
            vcpuCount: vcpuCount, pciMMIOWindow: X86Layout.pciMMIOWindow, pciIOWindow: X86Layout.pciIOWindow,
            virtioMMIODevices: virtioMMIODevices)
        let mpTable = try MPTable.build(vcpuCount: vcpuCount)
        let regions = acpi.regions + [mpTable, ResetVector.region]
        for region in regions {
            guard let range = region.range, X86Layout.biosReservedArea.contains(range) else {
                throw FirmwareTableError("\(region)", "lies outside the reserved BIOS area \(X86Layout.biosReservedArea)")
            }
        }
        if let clash = overlap(in: regions) {
            throw FirmwareTableError("\(clash.0)", "overlaps \(clash.1)")
        }
        return BootFirmware(regions: regions, acpiRSDPAddress: acpi.rsdpAddress)
    }

    private static func overlap(in regions: [FirmwareRegion]) -> (FirmwareRegion, FirmwareRegion)? {
        for (index, region) in regions.enumerated() {
            for other in regions[(index + 1)...] {
                if let range = region.range, let otherRange = other.range, range.overlaps(otherRange) { return (region, other) }
            }
        }
        return nil
    }
}
