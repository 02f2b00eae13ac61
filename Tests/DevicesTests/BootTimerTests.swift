import Synchronization
import Testing
@testable import Devices

final class BootTimeLog: Sendable {
    private let storage = Mutex<[BootTimer.BootTime]>([])
    func append(_ time: BootTimer.BootTime) { storage.withLock { $0.append(time) } }
    var entries: [BootTimer.BootTime] { storage.withLock { $0 } }
}

@Suite("Firecracker's boot timer")
struct BootTimerTests {
    /// A timer on the MMIO bus at its page, with fixed clocks, recording what it reports.
    final class Fixture: Sendable {
        static let page: UInt64 = 0xC000_0000
        let bus = Bus()
        let log = BootTimeLog()

        init(start: BootTimer.Instant, now: BootTimer.Instant) throws {
            let timer = BootTimer(start: start, now: { now }) { [log] time in log.append(time) }
            try bus.insert(timer, base: Self.page, length: 0x1000)
        }

        var reported: [BootTimer.BootTime] { log.entries }
    }

    @Test func theMagicByteReportsTheTimeSinceTheStart() throws {
        let fixture = try Fixture(
            start: BootTimer.Instant(monotonicMicroseconds: 1_000, cpuMicroseconds: 50),
            now: BootTimer.Instant(monotonicMicroseconds: 126_500, cpuMicroseconds: 2_080))
        fixture.bus.write(Fixture.page, 123, width: 1)
        #expect(fixture.reported == [BootTimer.BootTime(wallMicroseconds: 125_500, cpuMicroseconds: 2_030)])
        #expect(fixture.reported.first?.logLine == "Guest-boot-time = 125500 us 125 ms, 2030 CPU us 2 CPU ms")
        // Every signal is reported, as in Firecracker.
        fixture.bus.write(Fixture.page, 123, width: 1)
        #expect(fixture.reported.count == 2)
    }

    @Test func otherWritesAreIgnored() throws {
        let fixture = try Fixture(
            start: BootTimer.Instant(monotonicMicroseconds: 0, cpuMicroseconds: 0), now: BootTimer.Instant(monotonicMicroseconds: 9, cpuMicroseconds: 9))
        fixture.bus.write(Fixture.page, 122, width: 1)  // another value
        fixture.bus.write(Fixture.page + 1, 123, width: 1)  // another offset
        fixture.bus.write(Fixture.page, 123, width: 2)  // another width
        fixture.bus.write(Fixture.page, 123, width: 4)
        #expect(fixture.reported.isEmpty)
        #expect(fixture.bus.read32(Fixture.page) == 0, "reads answer zero")
    }

    @Test func aStartInTheFutureReportsZeroInsteadOfTrapping() throws {
        let fixture = try Fixture(
            start: BootTimer.Instant(monotonicMicroseconds: .max, cpuMicroseconds: .max),
            now: BootTimer.Instant(monotonicMicroseconds: 5, cpuMicroseconds: 5))
        fixture.bus.write(Fixture.page, 123, width: 1)
        #expect(fixture.reported == [BootTimer.BootTime(wallMicroseconds: 0, cpuMicroseconds: 0)])
    }

    @Test func theRealClocksMoveForward() {
        let first = BootTimer.Instant.now()
        var spin: UInt64 = 0
        for value in 0..<200_000 { spin &+= UInt64(value) }
        let second = BootTimer.Instant.now()
        #expect(spin > 0)
        #expect(second.monotonicMicroseconds >= first.monotonicMicroseconds)
        #expect(second.cpuMicroseconds >= first.cpuMicroseconds)
        #expect(first.monotonicMicroseconds > 0)
    }
}
