import Devices
import Synchronization
import Testing

@Suite struct ACPIPowerDeviceTests {
    final class Events: Sendable {
        let seen = Mutex<[ACPIPowerDevice.Event]>([])
        var list: [ACPIPowerDevice.Event] { seen.withLock { $0 } }
    }

    /// S5 as the DSDT's `\_S5` announces it: SLP_TYP 5 in bits 2–4 with SLP_EN (bit 5) = 0x34.
    func device(_ events: Events) -> ACPIPowerDevice {
        ACPIPowerDevice(isPowerOffRequest: { $0 == 0x34 }, resetValue: 0x01) { event in events.seen.withLock { $0.append(event) } }
    }

    @Test func sleepControlS5PowersOffAndTheResetValueResets() {
        let events = Events()
        let power = device(events)
        power.writeByte(ACPIPowerDevice.Register.sleepControl, 0x34)
        power.writeByte(ACPIPowerDevice.Register.reset, 0x01)
        #expect(events.list == [.powerOff, .reset])
    }

    @Test func otherWritesDoNothing() {
        let events = Events()
        let power = device(events)
        power.writeByte(ACPIPowerDevice.Register.sleepStatus, 0x80)  // WAK_STS cleared before sleeping
        power.writeByte(ACPIPowerDevice.Register.sleepControl, 0x14)  // S5 type without SLP_EN
        power.writeByte(ACPIPowerDevice.Register.reset, 0x02)
        power.writeByte(ACPIPowerDevice.Register.count, 0x34)  // past the registers
        power.write(offset: ACPIPowerDevice.Register.sleepControl, data: UnsafeRawBufferPointer(start: nil, count: 0))
        #expect(events.list.isEmpty)
    }

    @Test func registersReadZero() {
        let power = device(Events())
        for offset in 0..<ACPIPowerDevice.Register.count {
            var value: UInt8 = 0xFF
            withUnsafeMutableBytes(of: &value) { power.read(offset: offset, data: $0) }
            #expect(value == 0)
        }
    }
}
