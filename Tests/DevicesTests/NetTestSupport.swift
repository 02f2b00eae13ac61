#if canImport(Glibc)
import Glibc
#endif
import Synchronization
import Testing
import GuestMemory
import SwiftletCore
@testable import Devices

/// A `NetBackend` over one end of a non-blocking SOCK_SEQPACKET socket pair: the test holds
/// the other end and sees each frame (header included) as one message, as a tap would give it.
final class SocketPairBackend: NetBackend {
    let deviceEnd: Int32
    let testEnd: Int32
    private let offloads = Mutex<[NetOffloads]>([])

    init() throws {
        var ends: [Int32] = [-1, -1]
        try systemCall("socketpair") { socketpair(AF_UNIX, Int32(SOCK_SEQPACKET.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0, &ends) }
        deviceEnd = ends[0]
        testEnd = ends[1]
        // Room for a few 64 KiB frames in flight each way.
        var size: Int32 = 1 << 20
        for end in ends { setsockopt(end, SOL_SOCKET, SO_SNDBUF, &size, socklen_t(MemoryLayout<Int32>.size)) }
    }

    deinit {
        close(deviceEnd)
        close(testEnd)
    }

    var readinessDescriptor: Int32 { deviceEnd }

    func receive(into buffer: UnsafeMutableRawBufferPointer) throws -> Int? {
        let count = recv(deviceEnd, buffer.baseAddress, buffer.count, 0)
        if count >= 0 { return count }
        if errno == EAGAIN { return nil }
        throw SystemError.last("recv")
    }

    func send(_ frame: UnsafeRawBufferPointer) throws -> Bool {
        Glibc.send(deviceEnd, frame.baseAddress, frame.count, 0) == frame.count
    }

    func setReceiveOffloads(_ offloads: NetOffloads) throws {
        self.offloads.withLock { $0.append(offloads) }
    }

    var offloadHistory: [NetOffloads] { offloads.withLock { $0 } }

    /// What the "host" sends toward the guest.
    func inject(_ frame: [UInt8]) {
        let sent = frame.withUnsafeBytes { Glibc.send(testEnd, $0.baseAddress, $0.count, 0) }
        precondition(sent == frame.count, "socket pair refused a test frame")
    }

    /// The next frame the guest sent, nil when none is waiting.
    func nextTransmitted() -> [UInt8]? {
        var buffer = [UInt8](repeating: 0, count: 1 << 17)
        let count = buffer.withUnsafeMutableBytes { recv(testEnd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
        return count >= 0 ? Array(buffer[0..<count]) : nil
    }

    /// Bytes of the next frame still in the socket toward the device (0 when none).
    var pendingTowardDevice: Int {
        var count: Int32 = 0
        _ = ioctl(deviceEnd, UInt(FIONREAD), &count)
        return Int(count)
    }
}

/// One split virtqueue as the driver sees it: rings at fixed places in test RAM.
struct TestRing {
    let index: UInt16
    let descriptors: GuestAddress
    let avail: GuestAddress
    let used: GuestAddress
    let size: UInt16
    var availIndex: UInt16 = 0

    func descriptor(_ slot: UInt16, in memory: GuestMemory, address: UInt64, length: UInt32, flags: UInt16 = 0, next: UInt16 = 0) throws {
        let entry = descriptors.adding(16 * UInt64(slot))!
        try memory.write(address, at: entry)
        try memory.write(length, at: entry.adding(8)!)
        try memory.write(flags, at: entry.adding(12)!)
        try memory.write(next, at: entry.adding(14)!)
    }

    mutating func publish(_ head: UInt16, in memory: GuestMemory) throws {
        try memory.write(head, at: avail.adding(4 + 2 * UInt64(availIndex % size))!)
        availIndex &+= 1
        try memory.write(availIndex, at: avail.adding(2)!)
    }

    func usedIndex(in memory: GuestMemory) -> UInt16 { (try? memory.read(UInt16.self, at: used.adding(2)!)) ?? 0xDEAD }

    func usedElement(_ position: UInt16, in memory: GuestMemory) throws -> (id: UInt32, length: UInt32) {
        let element = used.adding(4 + 8 * UInt64(position % size))!
        return (try memory.read(UInt32.self, at: element), try memory.read(UInt32.self, at: element.adding(4)!))
    }
}

/// Plays the Linux virtio-net driver against a `VirtioNet` on the PCI transport: receive
/// queue 0 and transmit queue 1, each with its own rings and MSI-X vector (1 and 2).
final class NetHarness {
    static let mac = MACAddress("02:53:57:00:00:01")!
    let backend: SocketPairBackend
    let net: VirtioNet
    let pci: VirtioHarness
    var receive = TestRing(index: 0, descriptors: 0x10000, avail: 0x11000, used: 0x12000, size: 16)
    var transmit = TestRing(index: 1, descriptors: 0x13000, avail: 0x14000, used: 0x15000, size: 16)

    init(receiveRateLimit: RateLimitConfiguration? = nil, transmitRateLimit: RateLimitConfiguration? = nil) throws {
        backend = try SocketPairBackend()
        net = VirtioNet(tap: "test0", mac: Self.mac, backend: backend, receiveRateLimit: receiveRateLimit, transmitRateLimit: transmitRateLimit)
        pci = try VirtioHarness(device: net)
    }

    var memory: GuestMemory { pci.memory }

    /// The probe sequence up to DRIVER_OK with `features` (VERSION_1 added).
    func start(features: UInt64) throws {
        guard pci.negotiate(features: features | VirtioFeature.version1) else { throw VirtioError.invalidState("FEATURES_OK refused") }
        try pci.enableMSIX()
        pci.write(0x10, 0, width: 2)
        for (ring, vector) in [(receive, UInt16(1)), (transmit, UInt16(2))] {
            pci.configureQueue(ring.index, size: ring.size, vector: vector, descriptors: ring.descriptors.rawValue, avail: ring.avail.rawValue, used: ring.used.rawValue)
        }
        pci.setStatus(pci.status | VirtioDeviceStatus.driverOK)
        pci.transport.drain()
    }

    func kick(_ queue: UInt16) throws {
        let address = try #require(pci.transport.notifyAddress(queue: Int(queue), barBase: pci.bar))
        pci.mmio.write(address, 0, width: 2)
        pci.transport.drain()
        pci.transport.drain()
    }

    /// Posts one device-writable receive buffer per entry of `lengths`, at 0x40000 + 0x10000·i.
    func postReceiveBuffers(_ lengths: [UInt32], firstSlot: UInt16 = 0) throws {
        for (offset, length) in lengths.enumerated() {
            let slot = firstSlot + UInt16(offset)
            try receive.descriptor(slot, in: memory, address: Self.receiveBufferAddress(slot), length: length, flags: DescriptorFlag.write)
            try receive.publish(slot, in: memory)
        }
    }

    static func receiveBufferAddress(_ slot: UInt16) -> UInt64 { 0x40000 + 0x10000 * UInt64(slot % 8) }

    /// Posts a transmit chain whose pieces are `pieces`, copied to 0x20000 onward.
    func postTransmit(_ pieces: [[UInt8]], firstSlot: UInt16 = 0) throws {
        var address: UInt64 = 0x20000
        for (offset, piece) in pieces.enumerated() {
            let slot = firstSlot + UInt16(offset)
            try memory.write(bytes: piece, at: GuestAddress(address))
            let last = offset == pieces.count - 1
            try transmit.descriptor(slot, in: memory, address: address, length: UInt32(piece.count), flags: last ? 0 : DescriptorFlag.next, next: slot + 1)
            address += UInt64(piece.count + 64)
        }
        try transmit.publish(firstSlot, in: memory)
    }

    /// Waits (up to two seconds) until the receive queue's used index reaches `count`.
    func waitForReceived(_ count: UInt16) -> Bool {
        for _ in 0..<200 {
            pci.transport.drain()
            if receive.usedIndex(in: memory) == count {
                // The pass that moved the index may still be running (its interrupt comes after
                // the index): it started after the drain above, so wait for it too.
                pci.transport.drain()
                return true
            }
            usleep(10_000)
        }
        return false
    }

    /// A frame as the host hands it over: a zero virtio-net header, then `payload`.
    static func frame(payloadLength: Int, seed: UInt8) -> [UInt8] {
        [UInt8](repeating: 0, count: VirtioNet.headerSize) + (0..<payloadLength).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ Int(seed)) }
    }
}
