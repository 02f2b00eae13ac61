import SwiftletCore

/// ACPI's Generic Address Structure (ACPI 6.5 §5.2.3.2), 12 bytes: address space, register
/// bit width and offset, access size, and the 64-bit address.
struct GenericAddress: Sendable, Equatable {
    enum AddressSpace: UInt8 {
        case systemMemory = 0
        case systemIO = 1
    }

    /// Access sizes: 1 byte, 2 words, 3 dwords, 4 qwords (0 is "undefined").
    enum AccessSize: UInt8 {
        case byte = 1
        case word = 2
        case dword = 3
        case qword = 4
    }

    static let size = 12

    var addressSpace: AddressSpace
    var bitWidth: UInt8
    var bitOffset: UInt8 = 0
    var accessSize: AccessSize
    var address: UInt64

    /// A one-byte register at an I/O port, accessed with byte reads and writes.
    static func ioPortByte(_ port: UInt16) -> GenericAddress {
        GenericAddress(addressSpace: .systemIO, bitWidth: 8, accessSize: .byte, address: UInt64(port))
    }

    var bytes: [UInt8] {
        [addressSpace.rawValue, bitWidth, bitOffset, accessSize.rawValue] + .littleEndian(address)
    }
}
