/// Which transport carries a VM's virtio devices. One per VM: a guest built for Firecracker
/// (often without PCI, and started with `pci=off`) finds its devices only over virtio-mmio.
public enum VirtioTransportKind: String, Sendable, Equatable, Codable, CaseIterable {
    /// virtio-pci on bus 0, MSI-X interrupts (Swiftlet's default).
    case pci
    /// virtio-mmio register windows with one IOAPIC line each (Firecracker's default).
    case mmio
}
