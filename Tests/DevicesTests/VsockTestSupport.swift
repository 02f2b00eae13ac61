#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing
import GuestMemory
import SwiftletCore
@testable import Devices

/// A private directory for a test's Unix sockets, removed with everything in it.
final class SocketDirectory {
    let path: String

    init() throws {
        var template = Array("/tmp/swiftlet-vsock-XXXXXX".utf8CString)
        guard template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) != nil else { throw SystemError.last("mkdtemp") }
        path = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    var udsPath: String { path + "/v.sock" }
}

/// A host program's end of a Unix stream socket, blocking with a two-second timeout so a
/// test that waits for bytes that never come fails instead of hanging.
final class HostStream: Sendable {
    let descriptor: Int32

    init(descriptor: Int32) {
        self.descriptor = descriptor
        var timeout = timeval(tv_sec: 2, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(descriptor, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    convenience init(connectingTo path: String) throws {
        let descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        let error = UnixSocketAddress.with(path) { connect(descriptor, $0, $1) == 0 ? 0 : errno }
        guard error == 0 else {
            close(descriptor)
            throw SystemError("connect", path: path, code: error)
        }
        self.init(descriptor: descriptor)
    }

    deinit { close(descriptor) }

    /// Sends all of `bytes` unless the socket fails or stays full past its send timeout, and
    /// returns how many it took. A short count is the test's to report: a stream socket may
    /// take part of a large buffer before the timeout, which is no reason to stop the process.
    @discardableResult
    func send(_ bytes: [UInt8]) -> Int {
        var sent = 0
        while sent < bytes.count {
            let count = bytes.withUnsafeBytes { Glibc.send(descriptor, $0.baseAddress! + sent, $0.count - sent, Int32(MSG_NOSIGNAL)) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { break }
            sent += count
        }
        return sent
    }

    @discardableResult
    func send(_ text: String) -> Int { send(Array(text.utf8)) }

    /// Up to `count` bytes, waiting at most the timeout for the first; empty on EOF or timeout.
    func receive(upTo count: Int) -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: count)
        let received = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
        return received > 0 ? Array(buffer[0..<received]) : []
    }

    /// Exactly `count` bytes, or fewer when the stream ends or times out.
    func receive(exactly count: Int) -> [UInt8] {
        var bytes: [UInt8] = []
        while bytes.count < count {
            let chunk = receive(upTo: count - bytes.count)
            if chunk.isEmpty { break }
            bytes += chunk
        }
        return bytes
    }

    /// One line without its newline; nil on EOF or timeout.
    func receiveLine() -> String? {
        var line: [UInt8] = []
        while true {
            let byte = receive(upTo: 1)
            guard let first = byte.first else { return nil }
            if first == UInt8(ascii: "\n") { return String(decoding: line, as: UTF8.self) }
            line.append(first)
        }
    }

    /// Whether the peer closed the stream (recv answers 0 within the timeout).
    var sawEndOfStream: Bool {
        var byte: UInt8 = 0
        return recv(descriptor, &byte, 1, 0) == 0
    }
}

/// A host program listening on a Unix socket for guest-initiated connections.
final class HostListener {
    let descriptor: Int32

    init(path: String) throws {
        descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        let error = UnixSocketAddress.with(path) { bind(descriptor, $0, $1) == 0 ? 0 : errno }
        guard error == 0, listen(descriptor, 8) == 0 else {
            close(descriptor)
            throw SystemError("bind", path: path, code: error)
        }
        var timeout = timeval(tv_sec: 2, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { close(descriptor) }

    func accept() -> HostStream? {
        let stream = Glibc.accept(descriptor, nil, nil)
        return stream >= 0 ? HostStream(descriptor: stream) : nil
    }
}

/// Plays the Linux vsock driver against a `VirtioVsock` on either transport: receive queue
/// 0, transmit queue 1 and event queue 2, each with its own rings.
final class VsockHarness {
    static let guestCID: UInt64 = 42
    static let receiveBufferLength: UInt32 = 4096 + UInt32(VsockPacketHeader.size)
    /// Every transmit packet goes here (header) and right after (payload): tests kick after
    /// each one, so the device is done with it before the next.
    static let transmitHeaderAddress: UInt64 = 0x20000
    static let transmitPayloadAddress: UInt64 = 0x20100
    static let eventBufferAddress: UInt64 = 0x19000

    private enum Transport {
        case pci(VirtioHarness)
        case mmio(VirtioMMIOHarness)
    }

    let directory: SocketDirectory
    let device: VirtioVsock
    private let transport: Transport
    var receive = TestRing(index: 0, descriptors: 0x10000, avail: 0x11000, used: 0x12000, size: 16)
    var transmit = TestRing(index: 1, descriptors: 0x13000, avail: 0x14000, used: 0x15000, size: 16)
    var events = TestRing(index: 2, descriptors: 0x16000, avail: 0x17000, used: 0x18000, size: 16)
    private var nextReceiveSlot: UInt16 = 0
    /// Guest-side counts the driver reports in each packet it sends.
    var guestBufferAllocation: UInt32 = 256 << 10
    var guestForwardCount: UInt32 = 0

    init(mmio: Bool = false, directory: SocketDirectory? = nil, restoring state: VirtioVsock.State? = nil) throws {
        self.directory = try directory ?? SocketDirectory()
        if let state {
            device = try VirtioVsock(restoring: state)
        } else {
            device = try VirtioVsock(guestCID: Self.guestCID, udsPath: self.directory.udsPath)
        }
        transport = mmio ? .mmio(try VirtioMMIOHarness(device: device)) : .pci(try VirtioHarness(device: device))
    }

    var memory: GuestMemory {
        switch transport {
        case .pci(let pci): return pci.memory
        case .mmio(let mmio): return mmio.memory
        }
    }

    var errors: [String] {
        switch transport {
        case .pci(let pci): return pci.errors
        case .mmio(let mmio): return mmio.errors
        }
    }

    var status: UInt8 {
        switch transport {
        case .pci(let pci): return pci.status
        case .mmio(let mmio): return mmio.status
        }
    }

    /// guest_cid as the driver reads it from the device's config space.
    var configuredCID: UInt64 {
        switch transport {
        case .pci(let pci): return pci.read(VirtioPCILayout.deviceConfiguration, width: 4) | pci.read(VirtioPCILayout.deviceConfiguration + 4, width: 4) << 32
        case .mmio(let mmio):
            return mmio.read(VirtioMMIORegisters.deviceConfiguration) | mmio.read(VirtioMMIORegisters.deviceConfiguration + 4) << 32
        }
    }

    /// The probe sequence up to DRIVER_OK with the three queues.
    func start() throws {
        let rings = [receive, transmit, events]
        switch transport {
        case .pci(let pci):
            guard pci.negotiate(features: VirtioFeature.version1) else { throw VirtioError.invalidState("FEATURES_OK refused") }
            try pci.enableMSIX()
            pci.write(0x10, 0, width: 2)
            for ring in rings {
                pci.configureQueue(ring.index, size: ring.size, vector: 1, descriptors: ring.descriptors.rawValue, avail: ring.avail.rawValue, used: ring.used.rawValue)
            }
            pci.setStatus(pci.status | VirtioDeviceStatus.driverOK)
            pci.transport.drain()
        case .mmio(let mmio):
            guard mmio.negotiate(features: VirtioFeature.version1) else { throw VirtioError.invalidState("FEATURES_OK refused") }
            for ring in rings {
                mmio.configureQueue(UInt32(ring.index), size: ring.size, descriptors: ring.descriptors.rawValue, avail: ring.avail.rawValue, used: ring.used.rawValue)
            }
            mmio.setStatus(mmio.status | VirtioDeviceStatus.driverOK)
            mmio.transport.drain()
        }
    }

    func kick(_ queue: UInt16) throws {
        switch transport {
        case .pci(let pci):
            let address = try #require(pci.transport.notifyAddress(queue: Int(queue), barBase: pci.bar))
            pci.mmio.write(address, 0, width: 2)
        case .mmio(let mmio):
            mmio.write(VirtioMMIORegisters.queueNotify, UInt64(queue))
        }
        drain()
        drain()
    }

    func drain() {
        switch transport {
        case .pci(let pci): pci.transport.drain()
        case .mmio(let mmio): mmio.transport.drain()
        }
    }

    static func receiveBufferAddress(_ slot: UInt16) -> UInt64 { 0x80000 + 0x2000 * UInt64(slot % 16) }

    /// Posts `count` device-writable receive buffers of `length` bytes and kicks the queue.
    func postReceiveBuffers(_ count: Int, length: UInt32 = receiveBufferLength) throws {
        for _ in 0..<count {
            let slot = nextReceiveSlot % receive.size
            nextReceiveSlot &+= 1
            try receive.descriptor(slot, in: memory, address: Self.receiveBufferAddress(slot), length: length, flags: DescriptorFlag.write)
            try receive.publish(slot, in: memory)
        }
        try kick(0)
    }

    /// Waits (up to two seconds) until the receive queue's used index reaches `count`.
    func waitForReceived(_ count: UInt16) -> Bool {
        for _ in 0..<200 {
            drain()
            if receive.usedIndex(in: memory) == count {
                // The pass that moved the index may still be running (its interrupt comes after
                // the index): it started after the drain above, so wait for it too.
                drain()
                return true
            }
            usleep(10_000)
        }
        return false
    }

    /// The packet the device put in the `position`-th used receive element.
    func receivedPacket(_ position: UInt16) throws -> (header: VsockPacketHeader, payload: [UInt8]) {
        let element = try receive.usedElement(position, in: memory)
        let bytes = try memory.readBytes(at: GuestAddress(Self.receiveBufferAddress(UInt16(element.id))), count: Int(element.length))
        let header = try #require(VsockPacketHeader(decoding: bytes))
        #expect(Int(header.length) == bytes.count - VsockPacketHeader.size, "header len matches what the device wrote")
        return (header, Array(bytes[VsockPacketHeader.size...]))
    }

    /// A packet from the guest (src = guest CID) to the host, with the guest's credit counts.
    func guestPacket(_ operation: VsockOperation, guestPort: UInt32, hostPort: UInt32, payloadLength: Int = 0, flags: UInt32 = 0) -> VsockPacketHeader {
        VsockPacketHeader(
            sourceCID: Self.guestCID, destinationCID: VirtioVsock.hostCID, sourcePort: guestPort, destinationPort: hostPort,
            length: UInt32(payloadLength), operation: operation, flags: flags, bufferAllocation: guestBufferAllocation, forwardCount: guestForwardCount)
    }

    /// Posts a transmit chain as Linux does (header descriptor, then payload descriptor)
    /// and kicks; `headerBytes` replaces the encoded header to send a hostile one.
    func send(_ header: VsockPacketHeader, payload: [UInt8] = [], headerBytes: [UInt8]? = nil) throws {
        let encoded = headerBytes ?? header.bytes
        try memory.write(bytes: encoded, at: GuestAddress(Self.transmitHeaderAddress))
        try memory.write(bytes: payload, at: GuestAddress(Self.transmitPayloadAddress))
        let hasPayload = !payload.isEmpty
        try transmit.descriptor(0, in: memory, address: Self.transmitHeaderAddress, length: UInt32(encoded.count), flags: hasPayload ? DescriptorFlag.next : 0, next: 1)
        if hasPayload { try transmit.descriptor(1, in: memory, address: Self.transmitPayloadAddress, length: UInt32(payload.count)) }
        try transmit.publish(0, in: memory)
        try kick(1)
    }

    /// Posts one 8-byte event buffer and kicks the event queue.
    func postEventBuffer() throws {
        try events.descriptor(0, in: memory, address: Self.eventBufferAddress, length: 8, flags: DescriptorFlag.write)
        try events.publish(0, in: memory)
        try kick(2)
    }

    /// The host-initiated handshake up to the guest's RESPONSE: a host program connects,
    /// asks for `guestPort`, the guest sees REQUEST and accepts. Returns the program's stream
    /// and the host port the device allocated.
    func connectFromHost(guestPort: UInt32) throws -> (stream: HostStream, hostPort: UInt32) {
        let stream = try HostStream(connectingTo: directory.udsPath)
        stream.send("CONNECT \(guestPort)\n")
        let before = receive.usedIndex(in: memory)
        try postReceiveBuffers(1)
        #expect(waitForReceived(before &+ 1))
        let request = try receivedPacket(before).header
        #expect(request.knownOperation == .request)
        #expect(request.destinationPort == guestPort && request.destinationCID == Self.guestCID && request.sourceCID == VirtioVsock.hostCID)
        try send(guestPacket(.response, guestPort: guestPort, hostPort: request.sourcePort))
        #expect(stream.receiveLine() == "OK \(request.sourcePort)")
        return (stream, request.sourcePort)
    }

    /// A guest-initiated connection to host `hostPort`; returns the relayed program's stream.
    func connectFromGuest(guestPort: UInt32, hostPort: UInt32, listener: HostListener) throws -> HostStream? {
        try send(guestPacket(.request, guestPort: guestPort, hostPort: hostPort))
        let before = receive.usedIndex(in: memory)
        try postReceiveBuffers(1)
        #expect(waitForReceived(before &+ 1))
        let response = try receivedPacket(before).header
        #expect(response.knownOperation == .response)
        #expect(response.sourcePort == hostPort && response.destinationPort == guestPort)
        return listener.accept()
    }

    static func pattern(_ count: Int, seed: UInt8) -> [UInt8] {
        (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ Int(seed)) }
    }
}
