@testable import Devices
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

/// The arithmetic calendar against Foundation's, which the clock may not use on a vCPU thread.
@Suite struct UTCDateTimeTests {
    static let gregorianUTC: Calendar = {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(secondsFromGMT: 0)!
        return calendar
    }()

    static func expected(_ seconds: Int64) -> UTCDateTime {
        let parts = gregorianUTC.dateComponents(
            [.year, .month, .day, .hour, .minute, .second, .weekday], from: Date(timeIntervalSince1970: TimeInterval(seconds)))
        return UTCDateTime(
            year: parts.year!, month: parts.month!, day: parts.day!, hour: parts.hour!, minute: parts.minute!, second: parts.second!,
            weekday: parts.weekday!)
    }

    @Test(arguments: [
        Int64(0), -1, 951_782_400 /* 2000-02-29 */, 951_868_799, 4_107_542_400 /* 2100-03-01 */, 4_107_455_999, 1_795_983_667,
        253_402_300_799 /* 9999-12-31 23:59:59 */, -2_208_988_800 /* 1900-01-01 */,
    ])
    func chosenInstantsMatchFoundation(seconds: Int64) {
        #expect(UTCDateTime(secondsSince1970: seconds) == Self.expected(seconds))
    }

    @Test func everyDayAcrossFourCenturiesMatchesFoundation() {
        // 1900 to 2300 takes in the century years that are (2000) and are not (1900, 2100, 2200) leap years.
        var seconds: Int64 = -2_208_988_800 + 45_296  // 12:34:56
        while seconds < 10_413_792_000 {
            let computed = UTCDateTime(secondsSince1970: seconds)
            let reference = Self.expected(seconds)
            if computed != reference {
                Issue.record("\(seconds): \(computed) != \(reference)")
                return
            }
            seconds += 86_400 + 7  // drifts through every second of the day over the run
        }
    }
}
