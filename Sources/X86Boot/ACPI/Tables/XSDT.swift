import SwiftletCore

/// The Extended System Description Table (ACPI 6.5 §5.2.8): the header, then one 64-bit
/// address per table (the FADT and the MADT; the DSDT is reached through the FADT).
enum XSDT {
    static let revision: UInt8 = 1

    static func make(entries: [GuestAddress]) throws(FirmwareTableError) -> [UInt8] {
        var table = SystemDescriptionHeader.make(signature: "XSDT", revision: revision)
        for entry in entries { table.appendLittleEndian(entry.rawValue) }
        try SystemDescriptionHeader.seal(&table)
        return table
    }
}
