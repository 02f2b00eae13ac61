import SwiftletCore
import Synchronization

/// A 16550A UART as Linux's 8250 driver expects it.
///
/// Transmission is instantaneous: a byte written to THR goes straight to `output`, so THR
/// and the transmitter are always empty. Interrupts follow a level model: after every
/// register access the highest-priority pending cause is recomputed and the line is driven
/// to match, which keeps IIR, LSR and the interrupt line consistent by construction.
public final class Serial16550: BusDevice, RestorableInPlace {
    public static let fifoCapacity = 64

    /// Register state, kept separate so that snapshots can capture and restore it whole.
    public struct State: Codable, Sendable, Equatable {
        public var interruptEnable: UInt8 = 0
        public var lineControl: UInt8 = 0x03
        public var modemControl: UInt8 = 0x08
        public var modemStatusDeltas: UInt8 = 0
        public var scratch: UInt8 = 0
        public var divisorLow: UInt8 = 0x0C
        public var divisorHigh: UInt8 = 0
        public var fifoControl: UInt8 = 0
        public var overrun = false
        /// A THR-empty interrupt is owed until IIR reports it or THR is written again.
        public var transmitterEmptyPending = false
        public var receiveFIFO: [UInt8] = []
        public init() {}
    }

    private enum Register {
        static let data: UInt64 = 0, interruptEnable: UInt64 = 1, interruptID: UInt64 = 2, lineControl: UInt64 = 3
        static let modemControl: UInt64 = 4, lineStatus: UInt64 = 5, modemStatus: UInt64 = 6, scratch: UInt64 = 7
    }

    private enum Bits {
        static let dlab: UInt8 = 0x80
        static let loopback: UInt8 = 0x10
        static let ierReceive: UInt8 = 0x01, ierTransmit: UInt8 = 0x02, ierLineStatus: UInt8 = 0x04, ierModem: UInt8 = 0x08
        static let lsrDataReady: UInt8 = 0x01, lsrOverrun: UInt8 = 0x02, lsrTHREmpty: UInt8 = 0x20, lsrIdle: UInt8 = 0x40
        static let iirNone: UInt8 = 0x01, iirLineStatus: UInt8 = 0x06, iirReceive: UInt8 = 0x04
        static let iirTransmit: UInt8 = 0x02, iirModem: UInt8 = 0x00, iirFIFOEnabled: UInt8 = 0xC0
    }

    private let state = Mutex(State())
    private let interrupt: any InterruptLine
    private let output: @Sendable ([UInt8]) -> Void

    /// - Parameters:
    ///   - interrupt: the UART's IRQ line (COM1 is IRQ 4).
    ///   - output: receives each transmitted byte; called on the writing vCPU's thread.
    public init(interrupt: any InterruptLine, output: @escaping @Sendable ([UInt8]) -> Void) {
        self.interrupt = interrupt
        self.output = output
    }

    // MARK: - Host side

    /// Moves as many of `bytes` into the receive FIFO as fit; returns how many were taken.
    /// The caller keeps the rest and offers them again later, so no input is dropped.
    @discardableResult
    public func enqueueInput<Bytes: Collection>(_ bytes: Bytes) -> Int where Bytes.Element == UInt8 {
        state.withLock { state in
            // In loopback the receiver listens to the transmitter only.
            guard state.modemControl & Bits.loopback == 0 else { return 0 }
            let room = Self.fifoCapacity - state.receiveFIFO.count
            let accepted = Array(bytes.prefix(room))
            state.receiveFIFO.append(contentsOf: accepted)
            updateInterrupt(state)
            return accepted.count
        }
    }

    public func saveState() -> State { state.withLock { $0 } }

    public func restoreState(_ saved: State) {
        var saved = saved
        saved.receiveFIFO = Array(saved.receiveFIFO.prefix(Self.fifoCapacity))
        state.withLock { state in
            state = saved
            updateInterrupt(state)
        }
    }

    // MARK: - Guest side

    public func read(offset: UInt64, data: UnsafeMutableRawBufferPointer) {
        guard !data.isEmpty else { return }
        let value: UInt8 = state.withLock { state in
            let value = readRegister(offset, &state)
            updateInterrupt(state)
            return value
        }
        data.storeLittleEndian(UInt64(value))
    }

    public func write(offset: UInt64, data: UnsafeRawBufferPointer) {
        guard let value = data.first else { return }
        state.withLock { state in
            writeRegister(offset, value, &state)
            updateInterrupt(state)
        }
    }

    private func readRegister(_ offset: UInt64, _ state: inout State) -> UInt8 {
        let dlab = state.lineControl & Bits.dlab != 0
        switch offset {
        case Register.data where dlab: return state.divisorLow
        case Register.data:
            guard !state.receiveFIFO.isEmpty else { return 0 }
            return state.receiveFIFO.removeFirst()
        case Register.interruptEnable where dlab: return state.divisorHigh
        case Register.interruptEnable: return state.interruptEnable
        case Register.interruptID:
            let id = Self.pendingInterrupt(state)
            // Reading IIR acknowledges a THR-empty interrupt (and only that one).
            if id == Bits.iirTransmit { state.transmitterEmptyPending = false }
            return id | Bits.iirFIFOEnabled
        case Register.lineControl: return state.lineControl
        case Register.modemControl: return state.modemControl
        case Register.lineStatus:
            var status = Bits.lsrTHREmpty | Bits.lsrIdle
            if !state.receiveFIFO.isEmpty { status |= Bits.lsrDataReady }
            if state.overrun { status |= Bits.lsrOverrun }
            state.overrun = false
            return status
        case Register.modemStatus:
            let value = Self.modemStatus(state) | state.modemStatusDeltas
            state.modemStatusDeltas = 0
            return value
        case Register.scratch: return state.scratch
        default: return 0xFF
        }
    }

    private func writeRegister(_ offset: UInt64, _ value: UInt8, _ state: inout State) {
        let dlab = state.lineControl & Bits.dlab != 0
        switch offset {
        case Register.data where dlab: state.divisorLow = value
        case Register.data:
            if state.modemControl & Bits.loopback != 0 {
                if state.receiveFIFO.count < Self.fifoCapacity { state.receiveFIFO.append(value) } else { state.overrun = true }
            } else {
                output([value])
            }
            state.transmitterEmptyPending = true
        case Register.interruptEnable where dlab: state.divisorHigh = value
        case Register.interruptEnable:
            let enablingTransmit = value & Bits.ierTransmit != 0 && state.interruptEnable & Bits.ierTransmit == 0
            state.interruptEnable = value & 0x0F
            // A real 16550 interrupts as soon as THRE interrupts are enabled with THR empty.
            if enablingTransmit { state.transmitterEmptyPending = true }
        case Register.interruptID:
            state.fifoControl = value
            if value & 0x02 != 0 { state.receiveFIFO.removeAll() }
        case Register.lineControl: state.lineControl = value
        case Register.modemControl:
            let before = Self.modemStatus(state)
            state.modemControl = value & 0x1F
            let after = Self.modemStatus(state)
            // Delta bits: CTS and DSR changes, and the trailing edge of RI.
            state.modemStatusDeltas |= ((before ^ after) >> 4) & 0x03
            if before & 0x40 != 0 && after & 0x40 == 0 { state.modemStatusDeltas |= 0x04 }
            if (before ^ after) & 0x80 != 0 { state.modemStatusDeltas |= 0x08 }
        case Register.scratch: state.scratch = value
        default: break  // LSR and MSR are read-only.
        }
    }

    /// MSR's status bits: in loopback they mirror MCR (DTR→DSR, RTS→CTS, OUT1→RI, OUT2→DCD);
    /// otherwise a terminal is always present (DCD, DSR, CTS).
    private static func modemStatus(_ state: State) -> UInt8 {
        let mcr = state.modemControl
        guard mcr & Bits.loopback != 0 else { return 0xB0 }
        var status: UInt8 = 0
        if mcr & 0x01 != 0 { status |= 0x20 }
        if mcr & 0x02 != 0 { status |= 0x10 }
        if mcr & 0x04 != 0 { status |= 0x40 }
        if mcr & 0x08 != 0 { status |= 0x80 }
        return status
    }

    private static func pendingInterrupt(_ state: State) -> UInt8 {
        let enabled = state.interruptEnable
        if enabled & Bits.ierLineStatus != 0 && state.overrun { return Bits.iirLineStatus }
        if enabled & Bits.ierReceive != 0 && !state.receiveFIFO.isEmpty { return Bits.iirReceive }
        if enabled & Bits.ierTransmit != 0 && state.transmitterEmptyPending { return Bits.iirTransmit }
        if enabled & Bits.ierModem != 0 && state.modemStatusDeltas != 0 { return Bits.iirModem }
        return Bits.iirNone
    }

    private func updateInterrupt(_ state: State) {
        // OUT2 gates the UART's interrupt output on PC hardware; Linux relies on it.
        let asserted = Self.pendingInterrupt(state) != Bits.iirNone && state.modemControl & 0x08 != 0
        interrupt.setLevel(asserted)
    }
}
