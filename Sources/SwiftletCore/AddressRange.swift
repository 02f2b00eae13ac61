/// A half-open range `[start, start + length)` in one address space: guest-physical memory,
/// port I/O, a BAR, a file or an image.
///
/// Every range check in Swiftlet goes through this type, so there is one place where
/// "inside" is computed without overflow. A range may end exactly at the top of the 64-bit
/// space; one that would wrap past it cannot be built.
public struct AddressRange: Hashable, Sendable, Codable, CustomStringConvertible {
    public let start: UInt64
    public let length: UInt64

    /// Nil when the range would wrap past 2^64.
    public init?(start: UInt64, length: UInt64) {
        guard length == 0 || !start.addingReportingOverflow(length - 1).overflow else { return nil }
        self.start = start
        self.length = length
    }

    /// The guest-physical range of `length` bytes at `address`.
    public init?(at address: GuestAddress, length: UInt64) {
        self.init(start: address.rawValue, length: length)
    }

    /// `[lower, upper)`; nil when `upper < lower`.
    public init?(_ bounds: Range<UInt64>) {
        self.init(start: bounds.lowerBound, length: bounds.upperBound - bounds.lowerBound)
    }

    public var isEmpty: Bool { length == 0 }

    /// The last address inside the range (nil for an empty range); never overflows.
    public var last: UInt64? { length == 0 ? nil : start + (length - 1) }

    /// The first address past the range, or nil when the range ends at the top of the space.
    public var end: UInt64? {
        let (sum, overflow) = start.addingReportingOverflow(length)
        return overflow ? nil : sum
    }

    public func contains(_ address: UInt64) -> Bool {
        address >= start && address - start < length
    }

    /// Whether `[address, address + count)` lies wholly inside. A zero-length access inside
    /// or at the end of the range is contained.
    public func contains(_ address: UInt64, count: UInt64) -> Bool {
        offset(of: address, count: count) != nil
    }

    public func contains(_ other: AddressRange) -> Bool { contains(other.start, count: other.length) }

    /// The offset of `[address, address + count)` from `start`, if it lies wholly inside.
    public func offset(of address: UInt64, count: UInt64) -> UInt64? {
        guard address >= start else { return nil }
        let offset = address - start
        guard offset <= length, count <= length - offset else { return nil }
        return offset
    }

    /// Whether the two ranges share at least one address.
    public func overlaps(_ other: AddressRange) -> Bool {
        guard let last, let otherLast = other.last else { return false }
        return start <= otherLast && other.start <= last
    }

    /// The sub-range `[start + offset, start + offset + count)`, if it lies wholly inside.
    public func subrange(offset: UInt64, count: UInt64) -> AddressRange? {
        guard offset <= length, count <= length - offset else { return nil }
        return AddressRange(start: start + offset, length: count)
    }

    public var description: String {
        "[0x\(String(start, radix: 16)), +0x\(String(length, radix: 16)))"
    }
}
