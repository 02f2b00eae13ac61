import SwiftletCore
import Synchronization
import Testing
@testable import Devices

/// A device that records every access that reaches it.
final class RecordingBusDevice: BusDevice {
    let accesses = Mutex<[(offset: UInt64, count: Int, write: Bool)]>([])

    func read(offset: UInt64, data: UnsafeMutableRawBufferPointer) {
        accesses.withLock { $0.append((offset, data.count, false)) }
        data.fillWithZeros()
    }

    func write(offset: UInt64, data: UnsafeRawBufferPointer) {
        accesses.withLock { $0.append((offset, data.count, true)) }
    }

    var count: Int { accesses.withLock { $0.count } }
}

@Suite struct BusTests {
    let bus = Bus()
    let device = RecordingBusDevice()

    init() throws {
        try bus.insert(device, base: 0x100, length: 8)
    }

    @Test func accessesInsideTheRangeReachTheDeviceWithTheirOffset() {
        #expect(bus.read32(0x104) == 0)
        bus.write(0x107, 0xAB, width: 1)
        let seen = device.accesses.withLock { $0.map { [$0.offset, UInt64($0.count), $0.write ? 1 : 0] } }
        #expect(seen == [[4, 4, 0], [7, 1, 1]])
    }

    @Test func anAccessCrossingTheEndReadsAllOnesAndNeverReachesTheDevice() {
        // Starts on the device's last bytes and runs past its end.
        #expect(bus.read32(0x106) == 0xFFFF_FFFF)
        #expect(bus.read64(0x101) == UInt64.max)
        bus.write(0x107, 0xDEAD, width: 2)
        bus.write(0x104, 0x1122_3344_5566_7788, width: 8)
        #expect(device.count == 0)
    }

    @Test func unclaimedAddressesReadAllOnesAndDropWrites() {
        #expect(bus.read32(0x200) == 0xFFFF_FFFF)
        bus.write(0xFC, 0x1234, width: 4)  // ends inside the device, starts before it
        #expect(device.count == 0)
    }

    @Test func overlappingAndWrappingRangesAreRefused() {
        #expect(throws: Bus.Error.self) { try bus.insert(RecordingBusDevice(), base: 0x107, length: 2) }
        #expect(throws: Bus.Error.emptyRange) { try bus.insert(RecordingBusDevice(), base: UInt64.max, length: 2) }
        #expect(throws: Bus.Error.emptyRange) { try bus.insert(RecordingBusDevice(), base: 0x300, length: 0) }
    }
}
