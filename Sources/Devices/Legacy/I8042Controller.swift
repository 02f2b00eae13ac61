import SwiftletCore
import Synchronization

/// The PS/2 controller at ports 0x60–0x64, modelled far enough for Linux's i8042 driver to
/// find a keyboard and, above all, for a guest to reset the machine by pulsing the reset
/// line (command 0xFE, or bit 0 cleared through command 0xD1). Insert it at 0x60 with
/// length 5: offset 0 is the data port and offset 4 the status/command port.
public final class I8042Controller: BusDevice, RestorableInPlace {
    public struct State: Codable, Sendable, Equatable {
        /// Controller configuration byte: keyboard interrupt on, system flag, translation.
        public var configuration: UInt8 = 0x45
        /// A command that awaits its data byte on port 0x60.
        public var pendingCommand: UInt8?
        public var outputBuffer: [UInt8] = []
        /// Bit 3 of the status register: the last write went to the command port.
        public var lastWriteWasCommand = false
        public init() {}
    }

    /// The live registers: `State` with the output buffer as a bounded ring.
    private struct Registers {
        var configuration: UInt8
        var pendingCommand: UInt8?
        var output: ByteRing
        var lastWriteWasCommand: Bool

        init(_ saved: State) {
            configuration = saved.configuration
            pendingCommand = saved.pendingCommand
            output = ByteRing(capacity: I8042Controller.outputBufferCapacity)
            output.append(contentsOf: saved.outputBuffer)
            lastWriteWasCommand = saved.lastWriteWasCommand
        }

        var saved: State {
            var state = State()
            state.configuration = configuration
            state.pendingCommand = pendingCommand
            state.outputBuffer = output.contents
            state.lastWriteWasCommand = lastWriteWasCommand
            return state
        }
    }

    /// Bytes the output buffer holds; a guest that sends commands without reading the
    /// answers loses the newest ones instead of growing the VMM.
    public static let outputBufferCapacity = 16

    private enum Port { static let data: UInt64 = 0, command: UInt64 = 4 }
    private static let keyboardIRQEnable: UInt8 = 0x01

    private let state = Mutex(Registers(State()))
    private let interrupt: any InterruptLine
    private let onReset: @Sendable () -> Void

    /// - Parameters:
    ///   - interrupt: IRQ 1, raised while a keyboard byte waits in the output buffer.
    ///   - onReset: called (on the vCPU thread) when the guest pulses the reset line.
    public init(interrupt: any InterruptLine, onReset: @escaping @Sendable () -> Void) {
        self.interrupt = interrupt
        self.onReset = onReset
    }

    public func saveState() -> State { state.withLock { $0.saved } }

    /// Keeps at most `outputBufferCapacity` bytes of a saved buffer: a state file is input too.
    public func restoreState(_ saved: State) {
        state.withLock { state in
            state = Registers(saved)
            updateInterrupt(state)
        }
    }

    /// Queues keyboard scancodes as if keys were pressed (used for Ctrl+Alt+Del).
    public func injectKeyboardBytes(_ bytes: [UInt8]) {
        state.withLock { state in
            state.output.append(contentsOf: bytes)
            updateInterrupt(state)
        }
    }

    public func read(offset: UInt64, data: UnsafeMutableRawBufferPointer) {
        guard !data.isEmpty else { return }
        let value: UInt8 = state.withLock { state in
            switch offset {
            case Port.data:
                let value = state.output.removeFirst() ?? 0
                updateInterrupt(state)
                return value
            case Port.command:
                // Bit 2 (system flag) says the self-test passed; bit 0 says a byte is waiting.
                var status: UInt8 = 0x04
                if !state.output.isEmpty { status |= 0x01 }
                if state.lastWriteWasCommand { status |= 0x08 }
                return status
            default:
                return 0xFF
            }
        }
        data.storeLittleEndian(UInt64(value))
    }

    public func write(offset: UInt64, data: UnsafeRawBufferPointer) {
        guard let value = data.first else { return }
        let reset: Bool = state.withLock { state in
            let reset: Bool
            switch offset {
            case Port.command:
                state.lastWriteWasCommand = true
                reset = command(value, &state)
            case Port.data:
                state.lastWriteWasCommand = false
                reset = dataWrite(value, &state)
            default:
                reset = false
            }
            updateInterrupt(state)
            return reset
        }
        // Outside the lock: the handler stops the machine and may take other locks.
        if reset { onReset() }
    }

    /// Returns true when the command resets the machine.
    private func command(_ value: UInt8, _ state: inout Registers) -> Bool {
        state.pendingCommand = nil
        switch value {
        case 0x20: state.output.append(state.configuration)
        case 0x60, 0xD1, 0xD2, 0xD3, 0xD4: state.pendingCommand = value
        case 0xA7, 0xA8, 0xAD, 0xAE: break  // enable/disable ports: nothing to gate
        case 0xA9: state.output.append(0xFF)  // no auxiliary (mouse) port
        case 0xAA: state.output.append(0x55)  // controller self-test passed
        case 0xAB: state.output.append(0x00)  // keyboard interface test passed
        case 0xC0: state.output.append(0x00)
        case 0xD0: state.output.append(0x01)  // output port: reset line high
        case 0xF0...0xFF:
            // Pulse output lines; bit 0 low in the mask pulses the CPU reset line.
            return value & 0x01 == 0
        default: break
        }
        return false
    }

    private func dataWrite(_ value: UInt8, _ state: inout Registers) -> Bool {
        guard let pending = state.pendingCommand else {
            keyboardCommand(value, &state)
            return false
        }
        state.pendingCommand = nil
        switch pending {
        case 0x60: state.configuration = value
        case 0xD1: return value & 0x01 == 0
        case 0xD2: state.output.append(value)
        default: break  // 0xD3/0xD4 address the absent mouse.
        }
        return false
    }

    /// Answers the commands Linux's atkbd sends so that probing completes quickly.
    private func keyboardCommand(_ value: UInt8, _ state: inout Registers) {
        switch value {
        case 0xFF: state.output.append(contentsOf: [0xFA, 0xAA])  // reset: ack, self-test ok
        case 0xF2: state.output.append(contentsOf: [0xFA, 0xAB, 0x83])  // identify: MF2 keyboard
        case 0xEE: state.output.append(0xEE)  // echo
        default: state.output.append(0xFA)
        }
    }

    private func updateInterrupt(_ state: Registers) {
        interrupt.setLevel(!state.output.isEmpty && state.configuration & Self.keyboardIRQEnable != 0)
    }
}
