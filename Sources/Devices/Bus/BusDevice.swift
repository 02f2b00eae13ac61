/// A device that answers register accesses on the port I/O or MMIO bus.
///
/// `offset` is relative to the base the device was inserted at. `data` holds the 1, 2, 4 or
/// 8 bytes of the access in little-endian order. Devices never see KVM: they get their
/// accesses from the bus and raise interrupts through what they were built with.
public protocol BusDevice: AnyObject, Sendable {
    func read(offset: UInt64, data: UnsafeMutableRawBufferPointer)
    func write(offset: UInt64, data: UnsafeRawBufferPointer)
}

extension UnsafeRawBufferPointer {
    /// The access value as an integer (little-endian, zero-extended), for registers that
    /// do not care about access width.
    public var littleEndianValue: UInt64 {
        var value: UInt64 = 0
        for (index, byte) in self.prefix(8).enumerated() { value |= UInt64(byte) << (8 * UInt64(index)) }
        return value
    }
}

extension UnsafeMutableRawBufferPointer {
    /// Stores the low `count` bytes of `value` little-endian.
    public func storeLittleEndian(_ value: UInt64) {
        for index in 0..<Swift.min(count, 8) { self[index] = UInt8(truncatingIfNeeded: value >> (8 * UInt64(index))) }
    }
}
