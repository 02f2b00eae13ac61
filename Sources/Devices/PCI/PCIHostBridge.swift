/// The host bridge at 00:00.0.
///
/// Without firmware tables Linux only trusts configuration mechanism #1 after it finds a host
/// bridge (class 06/00) or an Intel device on bus 0 (arch/x86/pci/direct.c
/// `pci_sanity_check`); this one is both, with the ID Firecracker uses.
public final class PCIHostBridge: PCIDevice {
    public let configuration: PCIConfigurationSpace

    public init() {
        let identity = PCIIdentity(vendorID: 0x8086, deviceID: 0x0D57, classCode: 0x06, subclass: 0x00)
        // A bridge without BARs cannot fail to build; a failure here is a programming error.
        guard let configuration = try? PCIConfigurationSpace(identity: identity) else {
            fatalError("host bridge configuration space is invalid")
        }
        self.configuration = configuration
    }
}
