import Devices
import Foundation
import Testing

@Suite struct CMOSClockTests {
    // 2026-11-29 20:21:07 UTC, a Sunday.
    let clock = CMOSClock(now: { Date(timeIntervalSince1970: 1_795_983_667) })

    func register(_ index: UInt8) -> UInt8 {
        clock.writeByte(0, index)
        return clock.readByte(1)
    }

    @Test func reportsTheHostTimeInBCD() {
        #expect(register(0x00) == 0x07)
        #expect(register(0x02) == 0x21)
        #expect(register(0x04) == 0x20)
        #expect(register(0x07) == 0x29)
        #expect(register(0x08) == 0x11)
        #expect(register(0x09) == 0x26)
        #expect(register(0x32) == 0x20)
    }

    @Test func noUpdateInProgressAndValidRAM() {
        #expect(register(0x0A) & 0x80 == 0)
        #expect(register(0x0D) & 0x80 != 0)
    }

    @Test func binaryModeWhenTheGuestAsksForIt() {
        clock.writeByte(0, 0x0B)
        clock.writeByte(1, 0x06)
        #expect(register(0x04) == 20)
    }

    @Test func nmiMaskBitDoesNotChangeTheIndexAndRAMHoldsValues() {
        clock.writeByte(0, 0x80 | 0x40)
        clock.writeByte(1, 0x5A)
        #expect(register(0x40) == 0x5A)
    }
}
