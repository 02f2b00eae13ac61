import SwiftletCore

/// The 36-byte header every ACPI system description table starts with (ACPI 6.5 §5.2.6):
/// signature, length, revision, checksum, OEM ID, OEM table ID, OEM revision, creator ID and
/// creator revision.
enum SystemDescriptionHeader {
    static let size = 36
    static let lengthOffset = 4
    static let checksumOffset = 9

    /// Who made the tables, as the guest's `dmesg` shows it ("ACPI: FACP … (v06 SWIFTL …)").
    static let oemID = "SWIFTL"
    static let oemTableID = "SWIFTLET"
    static let oemRevision: UInt32 = 1
    static let creatorID = "SWLT"
    static let creatorRevision: UInt32 = 1

    /// The header with length and checksum still zero; append the body, then `seal`.
    static func make(signature: String, revision: UInt8) -> [UInt8] {
        var header = ASCIIField.padded(signature, width: 4)
        header.appendLittleEndian(UInt32(0))  // length, set by seal
        header += [revision, 0]  // checksum, set by seal
        header += ASCIIField.padded(oemID, width: 6)
        header += ASCIIField.padded(oemTableID, width: 8)
        header.appendLittleEndian(oemRevision)
        header += ASCIIField.padded(creatorID, width: 4)
        header.appendLittleEndian(creatorRevision)
        return header
    }

    /// Writes the table's final length and checksum into its header.
    static func seal(_ table: inout [UInt8]) throws(FirmwareTableError) {
        guard let length = UInt32(exactly: table.count) else {
            throw FirmwareTableError("ACPI table", "\(table.count) bytes do not fit the 32-bit length field")
        }
        table.storeLittleEndian(length, at: lengthOffset)
        FirmwareChecksum.seal(&table, checksumAt: checksumOffset)
    }
}
