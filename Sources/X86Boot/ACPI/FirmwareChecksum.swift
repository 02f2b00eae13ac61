/// The checksum rule that ACPI tables, the RSDP, AML resource templates and Intel MP tables
/// share: all bytes of the structure, the checksum byte included, add up to zero modulo 256.
public enum FirmwareChecksum {
    /// The byte that makes `bytes` plus that byte sum to zero.
    public static func complement(of bytes: some Sequence<UInt8>) -> UInt8 {
        0 &- sum(of: bytes)
    }

    /// Whether `bytes` (checksum byte included) sum to zero.
    public static func isValid(_ bytes: some Sequence<UInt8>) -> Bool {
        sum(of: bytes) == 0
    }

    static func sum(of bytes: some Sequence<UInt8>) -> UInt8 {
        bytes.reduce(0, &+)
    }

    /// Stores at `offset` the byte that makes the whole of `bytes` sum to zero. The byte at
    /// `offset` is zeroed first, so sealing twice gives the same result.
    static func seal(_ bytes: inout [UInt8], checksumAt offset: Int) {
        bytes[offset] = 0
        bytes[offset] = complement(of: bytes)
    }
}
