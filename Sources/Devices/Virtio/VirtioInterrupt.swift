/// How a transport tells the driver that a queue has used buffers or the configuration
/// changed. `VirtioDeviceCore` has already set the matching interrupt-status bit.
public protocol VirtioInterrupt: Sendable {
    /// `vector` is the MSI-X vector the driver chose (NO_VECTOR when it chose none); a
    /// transport without vectors ignores it and raises its one interrupt line.
    func raise(vector: UInt16)
}
