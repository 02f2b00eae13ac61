import SwiftletCore

/// Where the virtio-pci structures live inside the device's single 64-bit BAR.
///
/// Each structure gets its own 4 KiB page so the MSI-X table and PBA never share a page
/// with anything else (PCI recommends it, and it keeps a stray access from hitting two
/// structures). notify_off_multiplier is 4 and queue_notify_off equals the queue index, so
/// queue *n* is notified at `notify + 4n`.
public enum VirtioPCILayout {
    public static let bar = 0
    public static let barSize: UInt64 = 0x8000
    public static let commonConfiguration: UInt64 = 0x0000
    public static let isr: UInt64 = 0x1000
    public static let isrLength: UInt64 = 4
    public static let deviceConfiguration: UInt64 = 0x2000
    public static let deviceConfigurationMaxLength: UInt64 = 0x1000
    public static let notify: UInt64 = 0x3000
    public static let notifyMultiplier: UInt64 = 4
    public static let msixTable: UInt64 = 0x4000
    public static let msixPBA: UInt64 = 0x5000
    /// One vector per queue plus one for configuration changes fits the table page.
    public static let maxQueues = 255

    static let barRange = AddressRange(start: 0, length: barSize)!
    static let isrRange = range(isr, isrLength)

    /// `[offset, offset + length)` inside the BAR; every structure is far below 2^64.
    static func range(_ offset: UInt64, _ length: UInt64) -> AddressRange {
        AddressRange(start: offset, length: length)!
    }

    /// virtio_pci_cap.cfg_type values.
    enum CapabilityType: UInt8 {
        case common = 1
        case notify = 2
        case isr = 3
        case device = 4
        /// A window in configuration space onto the BAR (virtio 1.x §4.1.4.9).
        case pciConfiguration = 5
    }

    /// Offsets inside the PCI configuration access capability (from the capability start).
    enum ConfigurationAccess {
        static let bar = 4
        static let offset = 8
        static let length = 12
        static let data = 16
        /// Writable: bar, offset, length and the data window.
        static let writableMask: [UInt8] = [0, 0, 0xFF, 0, 0, 0] + Array(repeating: 0xFF, count: 12)
    }

    /// The body (after ID and next pointer) of a virtio vendor capability.
    /// `trailer` is the extra dword of the notify (multiplier) and PCI-config (data) capabilities.
    static func capabilityBody(type: CapabilityType, offset: UInt64, length: UInt64, trailer: UInt32? = nil) -> [UInt8] {
        let capabilityLength: UInt8 = trailer == nil ? 16 : 20
        var body: [UInt8] = [capabilityLength, type.rawValue, UInt8(bar), 0, 0, 0]
        body.appendLittleEndian(UInt32(truncatingIfNeeded: offset))
        body.appendLittleEndian(UInt32(truncatingIfNeeded: length))
        if let trailer { body.appendLittleEndian(trailer) }
        return body
    }
}
