import SwiftletCore

import GuestMemory

// Test conveniences: the virtqueue tests compute ring and buffer addresses as plain integers
// by the dozen. Production code has no such overloads; it speaks `GuestAddress` and
// `AddressRange` only.
extension GuestMemory {
    @_disfavoredOverload convenience init(layout: [(base: UInt64, size: UInt64)]) throws(GuestMemoryError) {
        try self.init(layout: try Self.ranges(layout))
    }

    @_disfavoredOverload convenience init(layout: [(base: UInt64, size: UInt64)], privateFile fd: Int32) throws(GuestMemoryError) {
        try self.init(layout: try Self.ranges(layout), privateFile: fd)
    }

    private static func ranges(_ layout: [(base: UInt64, size: UInt64)]) throws(GuestMemoryError) -> [AddressRange] {
        var ranges: [AddressRange] = []
        for (index, entry) in layout.enumerated() {
            guard let range = AddressRange(start: entry.base, length: entry.size) else {
                throw GuestMemoryError.invalidLayout("region \(index) wraps around")
            }
            ranges.append(range)
        }
        return ranges
    }

    @_disfavoredOverload func contains(_ address: UInt64, length: UInt64) -> Bool { contains(GuestAddress(address), length: length) }
    @_disfavoredOverload func hostPointer(at address: UInt64, length: UInt64) throws(GuestMemoryError) -> UnsafeMutableRawPointer {
        try hostPointer(at: GuestAddress(address), length: length)
    }
    @_disfavoredOverload func buffer(at address: UInt64, length: UInt64) throws(GuestMemoryError) -> UnsafeMutableRawBufferPointer {
        try buffer(at: GuestAddress(address), length: length)
    }
    @_disfavoredOverload func read<T: FixedWidthInteger>(_ type: T.Type = T.self, at address: UInt64) throws(GuestMemoryError) -> T {
        try read(type, at: GuestAddress(address))
    }
    @_disfavoredOverload func write<T: FixedWidthInteger>(_ value: T, at address: UInt64) throws(GuestMemoryError) {
        try write(value, at: GuestAddress(address))
    }
    @_disfavoredOverload func readBytes(at address: UInt64, count: Int) throws(GuestMemoryError) -> [UInt8] {
        try readBytes(at: GuestAddress(address), count: count)
    }
    @_disfavoredOverload func write<Bytes: Collection>(bytes: Bytes, at address: UInt64) throws(GuestMemoryError) where Bytes.Element == UInt8 {
        try write(bytes: bytes, at: GuestAddress(address))
    }
    @_disfavoredOverload func fill(_ byte: UInt8, at address: UInt64, count: Int) throws(GuestMemoryError) {
        try fill(byte, at: GuestAddress(address), count: count)
    }
}

extension MemoryRegion {
    @_disfavoredOverload func contains(_ address: UInt64, length: UInt64) -> Bool { range.contains(address, count: length) }
    var guestEnd: UInt64 { range.start + range.length }
}
