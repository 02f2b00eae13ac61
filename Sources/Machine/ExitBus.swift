import Devices

/// An address space a vCPU exit can reach (port I/O or MMIO). `Bus` is the real one; tests
/// of exit handling pass fakes.
protocol ExitBus: Sendable {
    /// Fills `data` from the device at `address` (all ones if none); false when unclaimed.
    @discardableResult func read(address: UInt64, data: UnsafeMutableRawBufferPointer) -> Bool
    /// Hands `data` to the device at `address` (dropped if none); false when unclaimed.
    @discardableResult func write(address: UInt64, data: UnsafeRawBufferPointer) -> Bool
}

extension Bus: ExitBus {}
/// What a vCPU uses: each runner has a reader per bus, so an exit writes nothing shared.
extension Bus.Reader: ExitBus {}
