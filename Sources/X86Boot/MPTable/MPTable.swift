import SwiftletCore

/// The Intel MultiProcessor Specification 1.4 table: a 16-byte floating pointer ("_MP_")
/// followed by the configuration table ("PCMP") and its entries. Kernels built with
/// `CONFIG_X86_MPPARSE` find their processors here when ACPI is off or absent (Debian's cloud
/// kernel is not one of them; it needs the MADT).
///
/// Entries: one processor per vCPU (the first is the bootstrap processor), an ISA bus, the
/// IOAPIC, ISA IRQs 0–15 on IOAPIC pins 0–15 (KVM's default GSI routing sends GSI n to pin n),
/// ExtINT on every local APIC's LINT0 and NMI on LINT1.
public enum MPTable {
    /// The last KiB of conventional memory, one of the places Linux scans for the floating
    /// pointer and inside the range the e820 map reports reserved. It holds up to 40 vCPUs.
    public static let defaultArea = AddressRange(start: 0x9_FC00, length: 0x400)!

    static let floatingPointerSize = 16
    static let headerSize = 44
    static let specificationRevision: UInt8 = 4  // MP 1.4
    static let isaIRQCount = 16

    /// The IOAPIC's MP ID: the first ID after the processors', since MP 1.4 wants APIC IDs
    /// unique across processors and IOAPICs.
    static func ioAPICID(vcpuCount: Int) -> UInt8 { UInt8(vcpuCount) }

    enum EntryType {
        static let processor: UInt8 = 0
        static let bus: UInt8 = 1
        static let ioAPIC: UInt8 = 2
        static let ioInterrupt: UInt8 = 3
        static let localInterrupt: UInt8 = 4
    }

    enum InterruptType {
        static let vectored: UInt8 = 0  // INT
        static let nmi: UInt8 = 1
        static let extINT: UInt8 = 3
    }

    static let localAPICVersion: UInt8 = 0x14
    static let ioAPICVersion: UInt8 = 0x11
    static let isaBusID: UInt8 = 0
    /// Local interrupt entries with this destination apply to every local APIC.
    static let allLocalAPICs: UInt8 = 0xFF

    /// The MP table for `vcpuCount` processors, at the start of `area`.
    public static func build(vcpuCount: Int, area: AddressRange = defaultArea) throws(FirmwareTableError) -> FirmwareRegion {
        // An APIC ID is 8 bits and 0xFF means "all", and the IOAPIC takes the ID after the processors'.
        guard (1...254).contains(vcpuCount) else {
            throw FirmwareTableError("MP table", "vCPU count \(vcpuCount) is outside 1...254")
        }
        guard area.start % 16 == 0 else {
            throw FirmwareTableError("MP table area \(area)", "must start on a 16-byte boundary, where Linux looks")
        }
        guard let configurationAddress = UInt32(exactly: area.start + UInt64(floatingPointerSize)) else {
            throw FirmwareTableError("MP table area \(area)", "must lie below 4 GiB (the pointers are 32-bit)")
        }
        let configuration = try configurationTable(vcpuCount: vcpuCount)
        let bytes = floatingPointer(configurationAddress: configurationAddress) + configuration
        guard area.contains(area.start, count: UInt64(bytes.count)) else {
            throw FirmwareTableError("MP table", "\(bytes.count) bytes for \(vcpuCount) vCPUs do not fit in \(area)")
        }
        return FirmwareRegion(name: "MP table", address: GuestAddress(area.start), bytes: bytes)
    }

    /// "_MP_", the configuration table's address, length 1 (in 16-byte units), revision,
    /// checksum, and feature bytes all zero: a configuration table follows (no default
    /// configuration), and no IMCR, so the PICs are in virtual wire mode.
    static func floatingPointer(configurationAddress: UInt32) -> [UInt8] {
        var bytes = Array("_MP_".utf8)
        bytes.appendLittleEndian(configurationAddress)
        bytes += [1, specificationRevision, 0 /* checksum */, 0, 0, 0, 0, 0]
        FirmwareChecksum.seal(&bytes, checksumAt: 10)
        return bytes
    }

    static func configurationTable(vcpuCount: Int) throws(FirmwareTableError) -> [UInt8] {
        let ioAPIC = ioAPICID(vcpuCount: vcpuCount)
        var entries: [[UInt8]] = []
        for index in 0..<vcpuCount {
            let enabled: UInt8 = 0x01
            let bootstrapProcessor: UInt8 = index == 0 ? 0x02 : 0
            var processor = [EntryType.processor, UInt8(index), localAPICVersion, enabled | bootstrapProcessor]
            processor.appendLittleEndian(UInt32(0x600))  // CPU signature: family 6
            processor.appendLittleEndian(UInt32(1 << 9 | 1 << 0))  // features: on-chip APIC, FPU
            processor += Array(repeating: 0, count: 8)
            entries.append(processor)
        }
        entries.append([EntryType.bus, isaBusID] + ASCIIField.padded("ISA", width: 6))
        var ioAPICEntry = [EntryType.ioAPIC, ioAPIC, ioAPICVersion, 0x01 /* enabled */]
        ioAPICEntry.appendLittleEndian(UInt32(truncatingIfNeeded: X86Layout.ioapicAddress.rawValue))
        entries.append(ioAPICEntry)
        for irq in 0..<UInt8(isaIRQCount) {
            entries.append(interruptEntry(EntryType.ioInterrupt, InterruptType.vectored, sourceIRQ: irq, destination: ioAPIC, pin: irq))
        }
        entries.append(
            interruptEntry(EntryType.localInterrupt, InterruptType.extINT, sourceIRQ: 0, destination: allLocalAPICs, pin: 0))
        entries.append(interruptEntry(EntryType.localInterrupt, InterruptType.nmi, sourceIRQ: 0, destination: allLocalAPICs, pin: 1))

        let length = headerSize + entries.reduce(0) { $0 + $1.count }
        guard let baseTableLength = UInt16(exactly: length), let entryCount = UInt16(exactly: entries.count) else {
            throw FirmwareTableError("MP table", "\(length) bytes do not fit the 16-bit base table length")
        }
        var table = Array("PCMP".utf8)
        table.appendLittleEndian(baseTableLength)
        table += [specificationRevision, 0 /* checksum */]
        table += ASCIIField.padded("SWIFTLET", width: 8)  // OEM ID
        table += ASCIIField.padded("SWIFTLET", width: 12)  // product ID
        table.appendLittleEndian(UInt32(0))  // OEM table pointer
        table.appendLittleEndian(UInt16(0))  // OEM table size
        table.appendLittleEndian(entryCount)
        table.appendLittleEndian(UInt32(truncatingIfNeeded: X86Layout.lapicAddress.rawValue))
        table.appendLittleEndian(UInt16(0))  // extended table length
        table += [0, 0]  // extended table checksum, reserved
        table += entries.flatMap { $0 }
        FirmwareChecksum.seal(&table, checksumAt: 7)
        return table
    }

    /// An I/O or local interrupt assignment entry, with polarity and trigger conforming to
    /// the source bus (ISA: edge-triggered, active high).
    private static func interruptEntry(_ type: UInt8, _ interruptType: UInt8, sourceIRQ: UInt8, destination: UInt8, pin: UInt8)
        -> [UInt8]
    {
        var entry = [type, interruptType]
        entry.appendLittleEndian(UInt16(0))  // flags: conforming polarity and trigger
        entry += [isaBusID, sourceIRQ, destination, pin]
        return entry
    }
}
