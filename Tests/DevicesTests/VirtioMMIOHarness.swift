import GuestMemory
import SwiftletCore
@testable import Devices

/// Plays the Linux virtio-mmio driver (version 2 registers) against a `VirtioMMIODevice`
/// on an MMIO bus, with guest RAM in the test process.
final class VirtioMMIOHarness: VirtqueueDriver {
    static let base: UInt64 = 0xD000_0000

    let memory: GuestMemory
    let bus = Bus()
    let line = RecordingInterruptLine()
    private let errorLog = ErrorLog()
    let transport: VirtioMMIODevice
    var queueSize: UInt16 = 16
    var availIndex: UInt16 = 0

    init(device: any VirtioDevice) throws {
        memory = try GuestMemory(layout: [(base: 0, size: 0x10_0000)])
        let log = errorLog
        transport = try VirtioMMIODevice(device: device, memory: memory, interruptLine: line) { log.append($0) }
        try bus.insert(transport, base: Self.base, length: VirtioMMIORegisters.windowSize)
    }

    var errors: [String] { errorLog.lines }

    func read(_ offset: UInt64, width: Int = 4) -> UInt64 {
        var bytes = [UInt8](repeating: 0, count: 8)
        bytes.withUnsafeMutableBytes { _ = bus.read(address: Self.base + offset, data: UnsafeMutableRawBufferPointer(rebasing: $0[0..<width])) }
        return bytes.loadLittleEndian(UInt64.self, at: 0) ?? 0
    }

    func write(_ offset: UInt64, _ value: UInt64, width: Int = 4) {
        bus.write(Self.base + offset, value, width: width)
    }

    var status: UInt8 { UInt8(truncatingIfNeeded: read(VirtioMMIORegisters.status)) }
    func setStatus(_ value: UInt8) { write(VirtioMMIORegisters.status, UInt64(value)) }

    /// ACKNOWLEDGE, DRIVER, both feature words, FEATURES_OK; returns whether FEATURES_OK stuck.
    @discardableResult
    func negotiate(features: UInt64) -> Bool {
        setStatus(0)
        setStatus(VirtioDeviceStatus.acknowledge)
        setStatus(VirtioDeviceStatus.acknowledge | VirtioDeviceStatus.driver)
        write(VirtioMMIORegisters.driverFeaturesSelect, 0)
        write(VirtioMMIORegisters.driverFeatures, features & 0xFFFF_FFFF)
        write(VirtioMMIORegisters.driverFeaturesSelect, 1)
        write(VirtioMMIORegisters.driverFeatures, features >> 32)
        setStatus(VirtioDeviceStatus.acknowledge | VirtioDeviceStatus.driver | VirtioDeviceStatus.featuresOK)
        return status & VirtioDeviceStatus.featuresOK != 0
    }

    func offeredFeatures() -> UInt64 {
        write(VirtioMMIORegisters.deviceFeaturesSelect, 0)
        let low = read(VirtioMMIORegisters.deviceFeatures)
        write(VirtioMMIORegisters.deviceFeaturesSelect, 1)
        return read(VirtioMMIORegisters.deviceFeatures) << 32 | low
    }

    /// What Linux's vm_setup_vq does: select, size, the three addresses in halves, ready.
    func configureQueue(_ index: UInt32 = 0, size: UInt16, descriptors: UInt64 = descriptorTable, avail: UInt64 = availRing, used: UInt64 = usedRing) {
        write(VirtioMMIORegisters.queueSelect, UInt64(index))
        write(VirtioMMIORegisters.queueSize, UInt64(size))
        write(VirtioMMIORegisters.queueDescriptorLow, descriptors & 0xFFFF_FFFF)
        write(VirtioMMIORegisters.queueDescriptorHigh, descriptors >> 32)
        write(VirtioMMIORegisters.queueDriverLow, avail & 0xFFFF_FFFF)
        write(VirtioMMIORegisters.queueDriverHigh, avail >> 32)
        write(VirtioMMIORegisters.queueDeviceLow, used & 0xFFFF_FFFF)
        write(VirtioMMIORegisters.queueDeviceHigh, used >> 32)
        write(VirtioMMIORegisters.queueReady, 1)
    }

    /// The whole probe sequence up to DRIVER_OK with queue 0 set up.
    func start(features: UInt64 = VirtioFeature.version1, queueSize: UInt16 = 16) throws {
        self.queueSize = queueSize
        guard negotiate(features: features) else { throw VirtioError.invalidState("FEATURES_OK refused") }
        configureQueue(size: queueSize)
        setStatus(status | VirtioDeviceStatus.driverOK)
        transport.drain()
    }

    /// Kicks queue 0 through QueueNotify, as the guest would, and waits for the work.
    func kick(queue: UInt64 = 0) {
        write(VirtioMMIORegisters.queueNotify, queue)
        transport.drain()
        transport.drain()
    }

    /// Reads the interrupt status and acknowledges exactly those bits, as vm_interrupt does.
    @discardableResult
    func acknowledgeInterrupt() -> UInt64 {
        let pending = read(VirtioMMIORegisters.interruptStatus)
        write(VirtioMMIORegisters.interruptAcknowledge, pending)
        return pending
    }
}
