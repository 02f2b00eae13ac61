import SwiftletCore

/// A virtio-mmio transport as the DSDT describes it to the guest: Linux's virtio_mmio driver
/// binds to ACPI devices with `_HID "LNRO0005"`, reading the register window and the
/// interrupt from `_CRS`. (Debian's kernels ignore `virtio_mmio.device=` on the command line,
/// so the DSDT is how they find these devices.)
public struct VirtioMMIODeviceDescription: Sendable, Equatable {
    /// The register window (normally 0x1000 bytes), below 4 GiB.
    public var window: AddressRange
    /// The global system interrupt (an IOAPIC pin) the device raises.
    public var gsi: UInt32
    public var trigger: ResourceDescriptor.Trigger

    public init(window: AddressRange, gsi: UInt32, trigger: ResourceDescriptor.Trigger = .edge) {
        self.window = window
        self.gsi = gsi
        self.trigger = trigger
    }
}
