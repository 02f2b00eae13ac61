import FoundationEssentials
import SwiftletCore
import Synchronization

/// The MC146818 real-time clock and CMOS RAM at ports 0x70/0x71, enough for Linux's rtc_cmos
/// driver and wall-clock reads: the time comes from the host clock in BCD, 24-hour mode, and
/// an update is never in progress. Without it, Linux reads all ones from the open bus and
/// warns that the RTC is inaccessible.
public final class CMOSClock: BusDevice {
    private enum Register {
        static let seconds = 0x00, minutes = 0x02, hours = 0x04, weekday = 0x06
        static let dayOfMonth = 0x07, month = 0x08, year = 0x09
        static let statusA = 0x0A, statusB = 0x0B, statusC = 0x0C, statusD = 0x0D, century = 0x32
    }

    private struct State {
        var index = 0
        var ram = [UInt8](repeating: 0, count: 128)
    }

    private let state = Mutex(State())
    private let now: @Sendable () -> Date

    public init(now: @escaping @Sendable () -> Date = { Date() }) {
        self.now = now
        state.withLock { state in
            state.ram[Register.statusA] = 0x26  // 32.768 kHz time base, 1024 Hz rate, no update in progress
            state.ram[Register.statusB] = 0x02  // 24-hour, BCD, no interrupts
            state.ram[Register.statusD] = 0x80  // battery good, RAM valid
        }
    }

    public func read(offset: UInt64, data: UnsafeMutableRawBufferPointer) {
        guard !data.isEmpty else { return }
        let value: UInt8 = state.withLock { state in
            offset == 1 ? register(state.index, state) : 0xFF
        }
        data.storeLittleEndian(UInt64(value))
    }

    public func write(offset: UInt64, data: UnsafeRawBufferPointer) {
        guard let value = data.first else { return }
        state.withLock { state in
            switch offset {
            case 0: state.index = Int(value & 0x7F)  // bit 7 is the NMI mask
            case 1 where ![Register.statusC, Register.statusD].contains(state.index):
                state.ram[state.index] = value
            default: break
            }
        }
    }

    private func register(_ index: Int, _ state: State) -> UInt8 {
        let time = { UTCDateTime(secondsSince1970: Int64(self.now().timeIntervalSince1970.rounded(.down))) }
        let value: Int
        switch index {
        case Register.seconds: value = time().second
        case Register.minutes: value = time().minute
        case Register.hours: value = time().hour
        case Register.weekday: value = time().weekday
        case Register.dayOfMonth: value = time().day
        case Register.month: value = time().month
        case Register.year: value = time().year % 100
        case Register.century: value = time().year / 100
        default: return state.ram[index]  // status and CMOS RAM: no clock reading needed
        }
        let binary = UInt8(clamping: value)
        return state.ram[Register.statusB] & 0x04 != 0 ? binary : (binary / 10) << 4 | (binary % 10)
    }
}
