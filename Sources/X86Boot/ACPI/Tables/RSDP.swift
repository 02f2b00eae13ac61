import SwiftletCore

/// The Root System Description Pointer (ACPI 6.5 §5.2.5.3), revision 2: 36 bytes pointing at
/// the XSDT. The RSDT address stays 0, so the guest uses the XSDT's 64-bit pointers.
enum RSDP {
    static let size = 36
    static let revision: UInt8 = 2
    /// The ACPI 1.0 checksum covers the first 20 bytes; the extended one the whole structure.
    static let checksumOffset = 8
    static let legacyChecksummedLength = 20
    static let extendedChecksumOffset = 32

    static func make(xsdtAddress: GuestAddress) -> [UInt8] {
        var bytes = Array("RSD PTR ".utf8)
        bytes.append(0)  // checksum
        bytes += ASCIIField.padded(SystemDescriptionHeader.oemID, width: 6)
        bytes.append(revision)
        bytes.appendLittleEndian(UInt32(0))  // RSDT address: none
        bytes.appendLittleEndian(UInt32(size))
        bytes.appendLittleEndian(xsdtAddress.rawValue)
        bytes += [0, 0, 0, 0]  // extended checksum, reserved
        var first20 = Array(bytes.prefix(legacyChecksummedLength))
        FirmwareChecksum.seal(&first20, checksumAt: checksumOffset)
        bytes[checksumOffset] = first20[checksumOffset]
        FirmwareChecksum.seal(&bytes, checksumAt: extendedChecksumOffset)
        return bytes
    }
}
