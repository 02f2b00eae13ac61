import SwiftletCore

/// The ACPI tables of one machine: RSDP → XSDT → FADT (→ DSDT) and MADT, built as bytes and
/// guest-physical addresses. A pure function of the machine's shape; writing the regions into
/// guest memory and putting `rsdpAddress` into `boot_params.acpi_rsdp_addr` is the caller's.
public struct ACPITables: Sendable, Equatable {
    /// Where the RSDP is; the value for `boot_params.acpi_rsdp_addr`.
    public let rsdpAddress: GuestAddress
    /// RSDP, XSDT, FADT, MADT and DSDT, to copy into guest memory.
    public let regions: [FirmwareRegion]

    /// I/O ports the PCI I/O window must leave alone: the legacy devices Swiftlet emulates or
    /// KVM handles (PIC, PIT, i8042, CMOS, POST code port: all below 0x100), COM1, the ACPI
    /// power registers, and the PCI configuration ports. Linux would otherwise hand them out
    /// to PCI I/O BARs.
    static let reservedPorts: [AddressRange] = [
        AddressRange(start: 0, length: 0x100)!,
        AddressRange(start: UInt64(DSDT.com1Ports), length: UInt64(DSDT.com1PortCount))!,
        AddressRange(
            start: UInt64(ACPIPowerRegisters.portRange.lowerBound), length: UInt64(ACPIPowerRegisters.portRange.count))!,
        AddressRange(start: UInt64(DSDT.pciConfigurationPorts), length: UInt64(DSDT.pciConfigurationPortCount))!,
    ]

    /// Builds the tables.
    ///
    /// - Parameters:
    ///   - vcpuCount: processors to list in the MADT (APIC IDs 0..<vcpuCount).
    ///   - pciMMIOWindow: the 32-bit MMIO window the PCI host bridge forwards (where BARs live).
    ///   - pciIOWindow: the port window of the host bridge; must avoid `reservedPorts`.
    ///   - pciMMIO64Window: an optional window above 4 GiB for 64-bit BARs.
    ///   - virtioMMIODevices: virtio-mmio transports to describe; their windows must not
    ///     overlap each other or the PCI windows.
    ///   - interruptOverrides: the MADT's interrupt source overrides.
    ///   - rsdpAddress: 16-byte aligned (Linux's scan only looks on 16-byte boundaries).
    ///   - tablesArea: where the other tables go; every table must fit inside it.
    public static func build(
        vcpuCount: Int,
        pciMMIOWindow: AddressRange,
        pciIOWindow: AddressRange,
        pciMMIO64Window: AddressRange? = nil,
        virtioMMIODevices: [VirtioMMIODeviceDescription] = [],
        interruptOverrides: [MADT.InterruptSourceOverride] = MADT.legacyOverrides,
        rsdpAddress: GuestAddress = ACPILayout.rsdpAddress,
        tablesArea: AddressRange = ACPILayout.tablesArea
    ) throws(FirmwareTableError) -> ACPITables {
        guard rsdpAddress.rawValue % 16 == 0 else {
            throw FirmwareTableError("RSDP address \(rsdpAddress)", "must be 16-byte aligned")
        }
        guard let rsdpRange = AddressRange(at: rsdpAddress, length: UInt64(RSDP.size)), !rsdpRange.overlaps(tablesArea) else {
            throw FirmwareTableError("RSDP address \(rsdpAddress)", "overlaps the tables area \(tablesArea)")
        }
        try checkWindows(
            pciIOWindow: pciIOWindow, pciMMIOWindow: pciMMIOWindow, pciMMIO64Window: pciMMIO64Window,
            virtioMMIODevices: virtioMMIODevices)

        var placer = TablePlacer(area: tablesArea)
        let dsdt = try placer.place(
            "DSDT",
            try DSDT.make(
                DSDT.Machine(
                    pciIOWindow: pciIOWindow, pciMMIOWindow: pciMMIOWindow, pciMMIO64Window: pciMMIO64Window,
                    virtioMMIODevices: virtioMMIODevices)))
        let fadt = try placer.place("FACP", try FADT.make(dsdtAddress: dsdt.address))
        let madt = try placer.place("APIC", try MADT.make(vcpuCount: vcpuCount, overrides: interruptOverrides))
        let xsdt = try placer.place("XSDT", try XSDT.make(entries: [fadt.address, madt.address]))
        let rsdp = FirmwareRegion(name: "RSDP", address: rsdpAddress, bytes: RSDP.make(xsdtAddress: xsdt.address))
        return ACPITables(rsdpAddress: rsdpAddress, regions: [rsdp, xsdt, fadt, madt, dsdt])
    }

    private static func checkWindows(
        pciIOWindow: AddressRange, pciMMIOWindow: AddressRange, pciMMIO64Window: AddressRange?,
        virtioMMIODevices: [VirtioMMIODeviceDescription]
    ) throws(FirmwareTableError) {
        if let reserved = reservedPorts.first(where: { $0.overlaps(pciIOWindow) }) {
            throw FirmwareTableError("PCI I/O window \(pciIOWindow)", "overlaps the platform's ports \(reserved)")
        }
        if let window = pciMMIO64Window, window.overlaps(pciMMIOWindow) {
            throw FirmwareTableError("PCI 64-bit MMIO window \(window)", "overlaps the 32-bit window \(pciMMIOWindow)")
        }
        var claimed = [("PCI MMIO window", pciMMIOWindow)] + (pciMMIO64Window.map { [("PCI 64-bit MMIO window", $0)] } ?? [])
        for (index, device) in virtioMMIODevices.enumerated() {
            if let (owner, _) = claimed.first(where: { $0.1.overlaps(device.window) }) {
                throw FirmwareTableError("virtio-mmio device \(index) window \(device.window)", "overlaps the \(owner)")
            }
            claimed.append(("virtio-mmio device \(index) window", device.window))
        }
    }
}

/// Lays tables out one after another inside an area, each on `ACPILayout.tableAlignment`.
private struct TablePlacer {
    let area: AddressRange
    var offset: UInt64 = 0

    mutating func place(_ name: String, _ bytes: [UInt8]) throws(FirmwareTableError) -> FirmwareRegion {
        let alignment = ACPILayout.tableAlignment
        let misalignment = (area.start &+ offset) % alignment
        let (aligned, overflow) = offset.addingReportingOverflow(misalignment == 0 ? 0 : alignment - misalignment)
        guard !overflow, let start = area.subrange(offset: aligned, count: UInt64(bytes.count))?.start else {
            throw FirmwareTableError("ACPI table \(name)", "\(bytes.count) bytes do not fit in the tables area \(area)")
        }
        offset = aligned + UInt64(bytes.count)
        return FirmwareRegion(name: name, address: GuestAddress(start), bytes: bytes)
    }
}
