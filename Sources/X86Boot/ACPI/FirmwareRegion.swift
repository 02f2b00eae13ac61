import SwiftletCore

/// Bytes to copy into guest memory at a guest-physical address: one firmware table (or the
/// MP table block). The builders only compute these; the machine writes them.
public struct FirmwareRegion: Sendable, Equatable, CustomStringConvertible {
    /// The table's signature or role ("RSDP", "DSDT", "MP table"), for logs and errors.
    public var name: String
    public var address: GuestAddress
    public var bytes: [UInt8]

    public init(name: String, address: GuestAddress, bytes: [UInt8]) {
        self.name = name
        self.address = address
        self.bytes = bytes
    }

    /// The guest-physical range the bytes occupy, or nil if they would run past 2^64.
    public var range: AddressRange? { AddressRange(at: address, length: UInt64(bytes.count)) }

    public var description: String { "\(name) at \(address) (\(bytes.count) bytes)" }
}
