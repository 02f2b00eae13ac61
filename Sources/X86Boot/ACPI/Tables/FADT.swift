import SwiftletCore

/// The Fixed ACPI Description Table (ACPI 6.5 §5.2.9), signature "FACP", for a
/// hardware-reduced platform: no PM1 blocks, GPE blocks, PM timer, SMI command port or FACS.
/// Power-off and reset go through the sleep control and reset registers in
/// `ACPIPowerRegisters`.
///
/// Unlisted fields stay zero; a hardware-reduced OSPM ignores the fixed-hardware ones.
enum FADT {
    static let length = 276
    /// Revision 6, minor 5: the ACPI 6.5 layout (the 276-byte one that ends with the
    /// hypervisor vendor identity).
    static let revision: UInt8 = 6
    static let minorVersion: UInt8 = 5

    enum Offset {
        static let dsdt = 40
        static let sciInterrupt = 46
        static let bootArchitectureFlags = 109
        static let flags = 112
        static let resetRegister = 116
        static let resetValue = 128
        static let minorVersion = 131
        static let extendedDSDT = 140
        static let sleepControlRegister = 244
        static let sleepStatusRegister = 256
        static let hypervisorVendorIdentity = 268
    }

    enum Flag {
        /// Fixed power and sleep buttons absent (bits 4, 5): there are no buttons.
        static let powerButtonIsNotFixed: UInt32 = 1 << 4
        static let sleepButtonIsNotFixed: UInt32 = 1 << 5
        /// RESET_REG_SUP (bit 10): RESET_REG and RESET_VALUE are valid.
        static let resetRegisterSupported: UInt32 = 1 << 10
        /// HW_REDUCED_ACPI (bit 20).
        static let hardwareReduced: UInt32 = 1 << 20
    }

    /// IA-PC boot architecture flags (ACPI 6.5 §5.2.9.3).
    enum BootArchitecture {
        /// 8042 (bit 1): Swiftlet emulates an i8042; without this bit Linux decides the
        /// controller is absent and never probes it.
        static let has8042: UInt16 = 1 << 1
        /// VGA Not Present (bit 2).
        static let noVGA: UInt16 = 1 << 2
    }

    /// The SCI's interrupt. A hardware-reduced platform raises no SCI, but Linux still takes
    /// the MADT override whose source IRQ equals SCI_INT for the SCI's and configures it as
    /// one (level-triggered, active low unless the override says otherwise). Left at 0, that
    /// would capture the IRQ 0 override; 9 with its own level/active-high override is the
    /// PC's convention (and QEMU's).
    static let sciInterrupt: UInt16 = 9

    static let hypervisorVendorIdentity = "SWIFTLET"

    static func make(dsdtAddress: GuestAddress) throws(FirmwareTableError) -> [UInt8] {
        var table = SystemDescriptionHeader.make(signature: "FACP", revision: revision)
        table += Array(repeating: 0, count: length - table.count)
        table.storeLittleEndian(sciInterrupt, at: Offset.sciInterrupt)
        table.storeLittleEndian(BootArchitecture.has8042 | BootArchitecture.noVGA, at: Offset.bootArchitectureFlags)
        let flags = Flag.hardwareReduced | Flag.resetRegisterSupported | Flag.powerButtonIsNotFixed | Flag.sleepButtonIsNotFixed
        table.storeLittleEndian(flags, at: Offset.flags)
        place(.ioPortByte(ACPIPowerRegisters.resetPort), at: Offset.resetRegister, in: &table)
        table[Offset.resetValue] = ACPIPowerRegisters.resetValue
        table[Offset.minorVersion] = minorVersion
        // Only the 64-bit X_DSDT: when both are set and differ the OSPM must pick one, and
        // leaving the 32-bit DSDT field zero removes the question.
        table.storeLittleEndian(dsdtAddress.rawValue, at: Offset.extendedDSDT)
        place(.ioPortByte(ACPIPowerRegisters.sleepControlPort), at: Offset.sleepControlRegister, in: &table)
        place(.ioPortByte(ACPIPowerRegisters.sleepStatusPort), at: Offset.sleepStatusRegister, in: &table)
        table.replaceSubrange(
            Offset.hypervisorVendorIdentity..<length, with: ASCIIField.padded(hypervisorVendorIdentity, width: 8))
        try SystemDescriptionHeader.seal(&table)
        return table
    }

    private static func place(_ register: GenericAddress, at offset: Int, in table: inout [UInt8]) {
        table.replaceSubrange(offset..<offset + GenericAddress.size, with: register.bytes)
    }
}
