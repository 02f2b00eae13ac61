import SwiftletCore

/// The Multiple APIC Description Table (ACPI 6.5 §5.2.12), signature "APIC": the local APIC
/// address, one enabled Processor Local APIC per vCPU, the IOAPIC, the interrupt source
/// overrides for legacy IRQs, and the NMI on every local APIC's LINT1.
public enum MADT {
    /// Revision 5 (ACPI 6.3 and later).
    static let revision: UInt8 = 5
    /// The ID KVM's in-kernel IOAPIC reports in its ID register after reset.
    public static let ioAPICID: UInt8 = 0
    /// xAPIC IDs are 8 bits and 0xFF is the broadcast ID; beyond that a table needs x2APIC
    /// entries, which Swiftlet's vCPU limit never reaches.
    public static let vcpuCountRange: ClosedRange<Int> = 1...254

    /// Multiple APIC flags bit 0, PCAT_COMPAT: the machine also has dual 8259 PICs (KVM's
    /// in-kernel irqchip emulates them), which the OS must mask when it uses the APICs.
    static let pcatCompatible: UInt32 = 1 << 0

    enum EntryType {
        static let processorLocalAPIC: UInt8 = 0
        static let ioAPIC: UInt8 = 1
        static let interruptSourceOverride: UInt8 = 2
        static let localAPICNMI: UInt8 = 4
    }

    /// MPS INTI flags (ACPI 6.5 Table 5.26): polarity in bits 0–1, trigger mode in bits 2–3.
    public struct InterruptFlags: Sendable, Equatable {
        public var rawValue: UInt16
        /// Conforms to the bus's specification (ISA: edge-triggered, active high).
        public static let conforming = InterruptFlags(rawValue: 0)
        public static let edgeActiveHigh = InterruptFlags(rawValue: 0b01_01)
        public static let levelActiveHigh = InterruptFlags(rawValue: 0b11_01)
        public static let levelActiveLow = InterruptFlags(rawValue: 0b11_11)
    }

    /// An Interrupt Source Override: ISA IRQ `source` arrives at global system interrupt `gsi`.
    public struct InterruptSourceOverride: Sendable, Equatable {
        public var source: UInt8
        public var gsi: UInt32
        public var flags: InterruptFlags

        public init(source: UInt8, gsi: UInt32, flags: InterruptFlags) {
            self.source = source
            self.gsi = gsi
            self.flags = flags
        }
    }

    /// The PC convention Linux expects: the timer's IRQ 0 on GSI 2 (where the IOAPIC of a PC
    /// wires the 8254), and the SCI's IRQ 9 level-triggered, active high. Every other ISA IRQ
    /// maps to the GSI of the same number, edge-triggered and active high, without an entry.
    ///
    /// In hardware-reduced mode Linux never programs IRQ 0 (no PIT timer setup); if the
    /// machine ever stops being hardware-reduced, KVM's default GSI routing (GSI 0 to IOAPIC
    /// pin 0) must be changed to send the PIT to pin 2, or the IRQ 0 entry dropped.
    public static let legacyOverrides: [InterruptSourceOverride] = [
        InterruptSourceOverride(source: 0, gsi: 2, flags: .conforming),
        InterruptSourceOverride(source: UInt8(FADT.sciInterrupt), gsi: UInt32(FADT.sciInterrupt), flags: .levelActiveHigh),
    ]

    static func make(vcpuCount: Int, overrides: [InterruptSourceOverride]) throws(FirmwareTableError) -> [UInt8] {
        guard vcpuCountRange.contains(vcpuCount) else {
            throw FirmwareTableError("MADT", "vCPU count \(vcpuCount) is outside \(vcpuCountRange)")
        }
        var table = SystemDescriptionHeader.make(signature: "APIC", revision: revision)
        table.appendLittleEndian(UInt32(truncatingIfNeeded: X86Layout.lapicAddress.rawValue))
        table.appendLittleEndian(pcatCompatible)
        for index in 0..<vcpuCount {
            // ACPI processor UID and APIC ID both equal the vCPU index, as the per-vCPU CPUID
            // leaves report it; flags bit 0: enabled.
            table += [EntryType.processorLocalAPIC, 8, UInt8(index), UInt8(index)]
            table.appendLittleEndian(UInt32(1))
        }
        table += [EntryType.ioAPIC, 12, ioAPICID, 0]
        table.appendLittleEndian(UInt32(truncatingIfNeeded: X86Layout.ioapicAddress.rawValue))
        table.appendLittleEndian(UInt32(0))  // GSI base: the IOAPIC's pins are GSIs 0–23
        for override in overrides {
            table += [EntryType.interruptSourceOverride, 10, 0 /* ISA */, override.source]
            table.appendLittleEndian(override.gsi)
            table.appendLittleEndian(override.flags.rawValue)
        }
        // NMI on LINT1 of every processor (UID 0xFF), with the bus's default polarity/trigger.
        table += [EntryType.localAPICNMI, 6, 0xFF]
        table.appendLittleEndian(InterruptFlags.conforming.rawValue)
        table.append(1)
        try SystemDescriptionHeader.seal(&table)
        return table
    }
}
