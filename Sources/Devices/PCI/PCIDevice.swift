import SwiftletCore

/// A function on PCI bus 0.
///
/// The bus routes configuration accesses to `readConfig`/`writeConfig` (offset within the
/// 256-byte space, never crossing a dword) and MMIO accesses inside a BAR to `readBAR` /
/// `writeBAR` (offset within that BAR). Devices with side effects on config writes (MSI-X
/// enable/mask) override `writeConfig`.
public protocol PCIDevice: AnyObject, Sendable {
    var configuration: PCIConfigurationSpace { get }
    func readConfig(offset: Int, data: UnsafeMutableRawBufferPointer)
    func writeConfig(offset: Int, data: UnsafeRawBufferPointer)
    func readBAR(_ index: Int, offset: UInt64, data: UnsafeMutableRawBufferPointer)
    func writeBAR(_ index: Int, offset: UInt64, data: UnsafeRawBufferPointer)
}

extension PCIDevice {
    public func readConfig(offset: Int, data: UnsafeMutableRawBufferPointer) {
        configuration.read(offset: offset, data: data)
    }

    public func writeConfig(offset: Int, data: UnsafeRawBufferPointer) {
        configuration.write(offset: offset, data: data)
    }

    public func readBAR(_ index: Int, offset: UInt64, data: UnsafeMutableRawBufferPointer) {
        data.fillWithOnes()
    }

    public func writeBAR(_ index: Int, offset: UInt64, data: UnsafeRawBufferPointer) {}
}

/// The MMIO bus entry for one BAR: forwards accesses to its device with the BAR index, so a
/// device with several BARs can tell them apart and each can move on its own.
final class PCIBARRegion: BusDevice {
    let device: any PCIDevice
    let index: Int

    init(device: any PCIDevice, index: Int) {
        self.device = device
        self.index = index
    }

    func read(offset: UInt64, data: UnsafeMutableRawBufferPointer) {
        device.readBAR(index, offset: offset, data: data)
    }

    func write(offset: UInt64, data: UnsafeRawBufferPointer) {
        device.writeBAR(index, offset: offset, data: data)
    }
}
