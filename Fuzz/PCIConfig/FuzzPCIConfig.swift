// libFuzzer target: PCI configuration space and the virtio-pci BAR (MSI-X table and PBA,
// common configuration, notify) under a stream of guest accesses. Each 8-byte record is one
// access: kind, width, offset, value. The transport must never trap, whatever the order.
import Devices
import GuestMemory
import SwiftletCore

private final class NullMSI: MSISender {
    func signalMSI(address: UInt64, data: UInt32) {}
}

private final class NullDevice: VirtioDevice {
    let name = "virtio-fuzz"
    let deviceType: UInt16 = 4
    let deviceFeatures: UInt64 = 0
    let queueMaxSizes: [UInt16] = [16, 8]
    let configSpaceSize = 8
    func readConfig(offset: Int, data: UnsafeMutableRawBufferPointer) { data.fillWithZeros() }
    func writeConfig(offset: Int, data: UnsafeRawBufferPointer) {}
    func activate(features: UInt64) throws {}
    func reset() {}
    func process(queue: Virtqueue) throws {
        while let chain = try queue.popChain() { try queue.addUsed(head: chain.head, length: 0) }
    }
}

private let memory = try! GuestMemory(layout: [AddressRange(start: 0, length: 0x1_0000)!])

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPCIConfig(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let input = [UInt8](UnsafeBufferPointer(start: data, count: size))
    let mmio = Bus()
    let root = PCIRoot(mmioBus: mmio, mmioWindow: AddressRange(0xC000_0000..<0xFEC0_0000)!)
    guard let transport = try? VirtioPCIDevice(device: NullDevice(), memory: memory, msiSender: NullMSI()),
        let slot = try? root.attach(transport)
    else { return 0 }
    var position = 0
    while position + 8 <= input.count {
        let kind = input[position], widthCode = input[position + 1]
        let offset = Int(input.loadLittleEndian(UInt16.self, at: position + 2) ?? 0)
        let value = input.loadLittleEndian(UInt32.self, at: position + 4) ?? 0
        position += 8
        let width = 1 << Int(widthCode % 3)
        var bytes = Array([UInt8].littleEndian(value).prefix(width))
        switch kind % 4 {
        case 0:
            _ = bytes.withUnsafeBytes { root.writeConfig(slot: slot, offset: offset % 256, data: $0) }
        case 1:
            bytes.withUnsafeMutableBytes { root.readConfig(slot: slot, offset: offset % 256, data: $0) }
        case 2:
            guard let base = root.mappedAddress(slot: slot, bar: VirtioPCILayout.bar) else { continue }
            bytes.withUnsafeBytes { _ = mmio.write(address: base + UInt64(offset % 0x8000), data: $0) }
        default:
            guard let base = root.mappedAddress(slot: slot, bar: VirtioPCILayout.bar) else { continue }
            bytes.withUnsafeMutableBytes { _ = mmio.read(address: base + UInt64(offset % 0x8000), data: $0) }
        }
    }
    transport.drain()
    return 0
}

// SwiftPM links an executable's entry as `<module>_main` and aliases `main` to it, so
// libFuzzer's own `main` is never pulled in: this entry hands over to its driver.
@_silgen_name("LLVMFuzzerRunDriver")
private func runFuzzerDriver(
    _ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>, Int) -> CInt) -> CInt

@_cdecl("fuzz_PCIConfig_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    var count = argc
    var arguments: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = argv
    return runFuzzerDriver(&count, &arguments) { fuzzPCIConfig($0, $1) }
}
