/// Whoever keeps something at BAR addresses outside the MMIO bus (the VMM's KVM ioeventfds
/// on virtio notify addresses) and must move it when the guest moves a BAR.
///
/// `PCIConfigIO` calls it synchronously, on the vCPU thread that did the configuration
/// write, with what that write moved; the guest's next access therefore already finds
/// everything at the new address. It is called without any PCI lock held.
public protocol PCIMappingSink: AnyObject, Sendable {
    func barMappingsChanged(_ changes: [PCIRoot.BARMapping])
}
