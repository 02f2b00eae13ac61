import SwiftletCore
import Synchronization
@testable import Devices

/// One MSI message as the VMM would inject it.
struct MSIMessage: Equatable, Sendable {
    let address: UInt64
    let data: UInt32
}

/// Records every MSI the devices send, in order.
final class RecordingMSISender: MSISender {
    private let log = Mutex<[MSIMessage]>([])

    func signalMSI(address: UInt64, data: UInt32) {
        log.withLock { $0.append(MSIMessage(address: address, data: data)) }
    }

    var messages: [MSIMessage] { log.withLock { $0 } }
    func clear() { log.withLock { $0.removeAll() } }
}

let testMMIOWindow = AddressRange(0xC000_0000..<0xFEC0_0000)!

/// Drives configuration mechanism #1 the way Linux does: latch an address at 0xCF8, then
/// access 0xCFC–0xCFF.
struct ConfigPorts {
    let io: PCIConfigIO

    static func address(slot: Int, register: Int, bus: Int = 0, function: Int = 0) -> UInt32 {
        0x8000_0000 | UInt32(bus) << 16 | UInt32(slot) << 11 | UInt32(function) << 8 | UInt32(register & 0xFC)
    }

    func writePort(_ offset: UInt64, _ value: UInt64, width: Int) {
        var bytes = [UInt8](repeating: 0, count: width)
        for index in 0..<width { bytes[index] = UInt8(truncatingIfNeeded: value >> (8 * UInt64(index))) }
        bytes.withUnsafeBytes { io.write(offset: offset, data: $0) }
    }

    func readPort(_ offset: UInt64, width: Int) -> UInt64 {
        var bytes = [UInt8](repeating: 0xAA, count: width)
        bytes.withUnsafeMutableBytes { io.read(offset: offset, data: $0) }
        return bytes.enumerated().reduce(0) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
    }

    func read(slot: Int, register: Int, width: Int = 4, bus: Int = 0, function: Int = 0) -> UInt64 {
        writePort(0, UInt64(Self.address(slot: slot, register: register, bus: bus, function: function)), width: 4)
        return readPort(4 + UInt64(register & 3), width: width)
    }

    func write(slot: Int, register: Int, value: UInt64, width: Int = 4) {
        writePort(0, UInt64(Self.address(slot: slot, register: register)), width: 4)
        writePort(4 + UInt64(register & 3), value, width: width)
    }

    /// Walks the capability list: (offset, id) pairs.
    func capabilities(slot: Int) -> [(offset: Int, id: UInt8)] {
        var result: [(Int, UInt8)] = []
        guard read(slot: slot, register: PCIRegister.status, width: 2) & 0x10 != 0 else { return [] }
        var offset = Int(read(slot: slot, register: PCIRegister.capabilitiesPointer, width: 1))
        while offset != 0 && result.count < 48 {
            result.append((offset, UInt8(read(slot: slot, register: offset, width: 1))))
            offset = Int(read(slot: slot, register: offset + 1, width: 1))
        }
        return result
    }
}

/// A PCI device with one BAR of each kind, for exercising the bus without virtio.
final class TestPCIDevice: PCIDevice {
    let configuration: PCIConfigurationSpace
    let lastWrite = Mutex<(bar: Int, offset: UInt64, value: UInt64)?>(nil)

    init() throws {
        configuration = try PCIConfigurationSpace(
            identity: PCIIdentity(vendorID: 0x1234, deviceID: 0x5678, revisionID: 2, classCode: 0xFF, subclass: 0),
            bars: [
                PCIBARDefinition(index: 0, size: 0x1000, kind: .memory32),
                PCIBARDefinition(index: 2, size: 0x4000, kind: .memory64, prefetchable: true),
            ])
    }

    func readBAR(_ index: Int, offset: UInt64, data: UnsafeMutableRawBufferPointer) {
        data.storeLittleEndian(UInt64(index) << 32 | offset)
    }

    func writeBAR(_ index: Int, offset: UInt64, data: UnsafeRawBufferPointer) {
        let value = data.littleEndianValue
        lastWrite.withLock { $0 = (index, offset, value) }
    }
}

extension Bus {
    func read32(_ address: UInt64) -> UInt32 {
        var value: UInt32 = 0
        withUnsafeMutableBytes(of: &value) { _ = read(address: address, data: $0) }
        return value
    }

    func read64(_ address: UInt64) -> UInt64 {
        var value: UInt64 = 0
        withUnsafeMutableBytes(of: &value) { _ = read(address: address, data: $0) }
        return value
    }

    func write(_ address: UInt64, _ value: UInt64, width: Int) {
        var bytes = [UInt8](repeating: 0, count: width)
        for index in 0..<width { bytes[index] = UInt8(truncatingIfNeeded: value >> (8 * UInt64(index))) }
        bytes.withUnsafeBytes { _ = write(address: address, data: $0) }
    }
}

/// Records the BAR moves `PCIConfigIO` hands on, as the VMM's ioeventfd set would get them.
final class MappingLog: PCIMappingSink {
    private let storage = Mutex<[PCIRoot.BARMapping]>([])
    func barMappingsChanged(_ changes: [PCIRoot.BARMapping]) { storage.withLock { $0 += changes } }
    var entries: [PCIRoot.BARMapping] { storage.withLock { $0 } }
}
