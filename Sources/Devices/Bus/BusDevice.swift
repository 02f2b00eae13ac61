/// A device that answers register accesses on the port I/O or MMIO bus.
///
/// `offset` is relative to the base the device was inserted at, and the bus guarantees that
/// `[offset, offset + data.count)` lies inside the device's range. `data` holds the 1, 2, 4
/// or 8 bytes of the access in little-endian order (SwiftletCore's codec reads and answers
/// it). Devices never see KVM: they get their accesses from the bus and raise interrupts
/// through what they were built with.
public protocol BusDevice: AnyObject, Sendable {
    func read(offset: UInt64, data: UnsafeMutableRawBufferPointer)
    func write(offset: UInt64, data: UnsafeRawBufferPointer)
}
