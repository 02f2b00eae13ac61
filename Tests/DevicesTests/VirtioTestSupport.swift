#if canImport(Glibc)
import Glibc
#endif
import Synchronization
import Testing
import GuestMemory
@testable import Devices

/// A scratch disk image that disappears with the test.
final class TemporaryDisk {
    let path: String

    /// `sectors` 512-byte sectors; sector *n* is filled with byte `n & 0xFF` so reads are checkable.
    init(sectors: Int, extraBytes: Int = 0) throws {
        var template = Array("/tmp/swiftlet-blk-XXXXXX".utf8CString)
        let descriptor = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard descriptor >= 0 else { throw GuestMemoryError.invalidLayout("mkstemp failed") }
        path = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        var bytes: [UInt8] = []
        for sector in 0..<sectors { bytes += Array(repeating: UInt8(truncatingIfNeeded: sector), count: 512) }
        bytes += Array(repeating: 0xEE, count: extraBytes)
        _ = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        close(descriptor)
    }

    deinit { unlink(path) }

    func contents() -> [UInt8] {
        let descriptor = open(path, O_RDONLY)
        defer { close(descriptor) }
        var result: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            guard count > 0 else { break }
            result += chunk[0..<count]
        }
        return result
    }
}

/// Collects error reports from the device's queue.
final class ErrorLog: Sendable {
    private let storage = Mutex<[String]>([])
    func append(_ line: String) { storage.withLock { $0.append(line) } }
    var lines: [String] { storage.withLock { $0 } }
}

/// Descriptor flags as a driver writes them.
enum DescriptorFlag {
    static let next: UInt16 = 1
    static let write: UInt16 = 2
    static let indirect: UInt16 = 4
}

/// Plays the Linux virtio-pci driver against a `VirtioPCIDevice` on a real PCI root,
/// with guest RAM in the test process.
final class VirtioHarness: VirtqueueDriver {
    static let msiAddress: UInt64 = 0xFEE0_0000

    let memory: GuestMemory
    let mmio = Bus()
    let root: PCIRoot
    let ports: ConfigPorts
    let msi = RecordingMSISender()
    private let errorLog = ErrorLog()
    let transport: VirtioPCIDevice
    let slot: Int
    var queueSize: UInt16 = 16
    var availIndex: UInt16 = 0

    init(device: any VirtioDevice, memory: GuestMemory? = nil) throws {
        self.memory = try memory ?? GuestMemory(layout: [(base: 0, size: 0x10_0000)])
        root = PCIRoot(mmioBus: mmio, mmioWindow: testMMIOWindow)
        ports = ConfigPorts(io: PCIConfigIO(root: root))
        let log = errorLog
        transport = try VirtioPCIDevice(device: device, memory: self.memory, msiSender: msi) { log.append($0) }
        slot = try root.attach(transport)
    }

    var errors: [String] { errorLog.lines }
    var bar: UInt64 { transport.configuration.barAddress(0) ?? 0 }

    // MARK: Registers

    func read(_ offset: UInt64, width: Int) -> UInt64 {
        var bytes = [UInt8](repeating: 0, count: width)
        bytes.withUnsafeMutableBytes { _ = mmio.read(address: bar + offset, data: $0) }
        return bytes.enumerated().reduce(0) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
    }

    func write(_ offset: UInt64, _ value: UInt64, width: Int) {
        mmio.write(bar + offset, value, width: width)
    }

    var status: UInt8 { UInt8(read(0x14, width: 1)) }
    func setStatus(_ value: UInt8) { write(0x14, UInt64(value), width: 1) }

    func selectQueue(_ index: UInt16) { write(0x16, UInt64(index), width: 2) }

    /// ACKNOWLEDGE, DRIVER, write features, FEATURES_OK; returns whether FEATURES_OK stuck.
    @discardableResult
    func negotiate(features: UInt64) -> Bool {
        setStatus(0)
        setStatus(VirtioDeviceStatus.acknowledge)
        setStatus(VirtioDeviceStatus.acknowledge | VirtioDeviceStatus.driver)
        write(0x08, 0, width: 4)
        write(0x0C, features & 0xFFFF_FFFF, width: 4)
        write(0x08, 1, width: 4)
        write(0x0C, features >> 32, width: 4)
        setStatus(VirtioDeviceStatus.acknowledge | VirtioDeviceStatus.driver | VirtioDeviceStatus.featuresOK)
        return status & VirtioDeviceStatus.featuresOK != 0
    }

    func offeredFeatures() -> UInt64 {
        write(0x00, 0, width: 4)
        let low = read(0x04, width: 4)
        write(0x00, 1, width: 4)
        return read(0x04, width: 4) << 32 | low
    }

    /// Programs vector *i* with data 0x20+i, unmasked, and enables MSI-X through config space.
    func enableMSIX() throws {
        let capability = try #require(ports.capabilities(slot: slot).first { $0.id == PCICapabilityID.msix })
        for vector in 0..<transport.msix.vectorCount {
            let entry = VirtioPCILayout.msixTable + UInt64(vector * 16)
            write(entry, Self.msiAddress, width: 4)
            write(entry + 4, 0, width: 4)
            write(entry + 8, 0x20 + UInt64(vector), width: 4)
            write(entry + 12, 0, width: 4)
        }
        let control = ports.read(slot: slot, register: capability.offset + 2, width: 2)
        ports.write(slot: slot, register: capability.offset + 2, value: control | 0x8000, width: 2)
    }

    func configureQueue(_ index: UInt16 = 0, size: UInt16, vector: UInt16, descriptors: UInt64 = descriptorTable, avail: UInt64 = availRing, used: UInt64 = usedRing) {
        selectQueue(index)
        write(0x18, UInt64(size), width: 2)
        write(0x1A, UInt64(vector), width: 2)
        write(0x20, descriptors & 0xFFFF_FFFF, width: 4)
        write(0x24, descriptors >> 32, width: 4)
        write(0x28, avail & 0xFFFF_FFFF, width: 4)
        write(0x2C, avail >> 32, width: 4)
        write(0x30, used & 0xFFFF_FFFF, width: 4)
        write(0x34, used >> 32, width: 4)
        write(0x1C, 1, width: 2)
    }

    /// The whole Linux probe sequence up to DRIVER_OK; queue 0 uses vector 1, config vector 0.
    func start(features: UInt64 = VirtioFeature.version1, queueSize: UInt16 = 16) throws {
        self.queueSize = queueSize
        guard negotiate(features: features) else { throw VirtioError.invalidState("FEATURES_OK refused") }
        try enableMSIX()
        write(0x10, 0, width: 2)
        configureQueue(size: queueSize, vector: 1)
        setStatus(status | VirtioDeviceStatus.driverOK)
        transport.drain()
    }

    /// Kicks queue 0 through the notify area, as the guest would, and waits for the work.
    func kick() throws {
        let address = try #require(transport.notifyAddress(queue: 0, barBase: bar))
        mmio.write(address, 0, width: 2)
        transport.drain()
        transport.drain()
    }

    /// Interrupts for queue 0 (vector 1) and config changes (vector 0) seen so far.
    var queueInterrupts: Int { msi.messages.filter { $0.data == 0x21 }.count }
    var configInterrupts: Int { msi.messages.filter { $0.data == 0x20 }.count }
}

/// A driver's side of queue 0 at fixed guest addresses, whatever the transport: fills
/// descriptors, publishes heads and reads the used ring.
protocol VirtqueueDriver: AnyObject {
    var memory: GuestMemory { get }
    var queueSize: UInt16 { get }
    var availIndex: UInt16 { get set }
}

extension VirtqueueDriver {
    static var descriptorTable: UInt64 { 0x10000 }
    static var availRing: UInt64 { 0x11000 }
    static var usedRing: UInt64 { 0x12000 }

    func descriptor(_ index: UInt16, address: UInt64, length: UInt32, flags: UInt16 = 0, next: UInt16 = 0) throws {
        let entry = Self.descriptorTable + 16 * UInt64(index)
        try memory.write(address, at: entry)
        try memory.write(length, at: entry + 8)
        try memory.write(flags, at: entry + 12)
        try memory.write(next, at: entry + 14)
    }

    func publish(_ head: UInt16) throws {
        try memory.write(head, at: Self.availRing + 4 + 2 * UInt64(availIndex % queueSize))
        availIndex &+= 1
        try memory.write(availIndex, at: Self.availRing + 2)
    }

    var usedIndex: UInt16 { (try? memory.read(UInt16.self, at: Self.usedRing + 2)) ?? 0xDEAD }

    func usedElement(_ position: UInt16) throws -> (id: UInt32, length: UInt32) {
        let element = Self.usedRing + 4 + 8 * UInt64(position % queueSize)
        return (try memory.read(UInt32.self, at: element), try memory.read(UInt32.self, at: element + 4))
    }
}
