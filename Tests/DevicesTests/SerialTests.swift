import Devices
import Testing

@Suite struct SerialTests {
    let line = RecordingInterruptLine()
    let output = RecordingOutput()
    var serial: Serial16550 { Serial16550(interrupt: line, output: output.append) }

    enum Reg { static let thr: UInt64 = 0, ier: UInt64 = 1, iir: UInt64 = 2, lcr: UInt64 = 3, mcr: UInt64 = 4, lsr: UInt64 = 5, msr: UInt64 = 6, scr: UInt64 = 7 }

    @Test func resetValuesLookLikeAnIdle16550A() {
        let uart = serial
        #expect(uart.readByte(Reg.iir) == 0xC1, "no interrupt pending, FIFOs reported")
        #expect(uart.readByte(Reg.lsr) == 0x60, "THR empty and transmitter idle")
        #expect(uart.readByte(Reg.ier) == 0)
        #expect(uart.readByte(Reg.msr) & 0xB0 == 0xB0, "carrier, DSR and CTS present")
        #expect(!line.current)
    }

    @Test func transmittedBytesReachTheOutput() {
        let uart = serial
        for byte in "hi\n".utf8 { uart.writeByte(Reg.thr, byte) }
        #expect(output.text == "hi\n")
        #expect(uart.readByte(Reg.lsr) & 0x60 == 0x60)
    }

    @Test func ierIsMaskedToFourBits() {
        let uart = serial
        uart.writeByte(Reg.ier, 0xFF)
        #expect(uart.readByte(Reg.ier) == 0x0F)
    }

    @Test func divisorLatchShadowsDataAndIER() {
        let uart = serial
        uart.writeByte(Reg.lcr, 0x83)
        uart.writeByte(Reg.thr, 0x01)
        uart.writeByte(Reg.ier, 0x02)
        #expect(uart.readByte(Reg.thr) == 0x01)
        #expect(uart.readByte(Reg.ier) == 0x02)
        uart.writeByte(Reg.lcr, 0x03)
        #expect(output.text.isEmpty, "divisor writes are not transmitted")
        #expect(uart.readByte(Reg.ier) == 0)
    }

    @Test func receivedBytesSetDataReadyAndRaiseRDAInterrupt() {
        let uart = serial
        uart.writeByte(Reg.mcr, 0x08)  // OUT2 gates the interrupt
        uart.writeByte(Reg.ier, 0x01)
        #expect(!line.current)
        #expect(uart.enqueueInput(Array("ab".utf8)) == 2)
        #expect(line.current)
        #expect(uart.readByte(Reg.iir) & 0x0F == 0x04)
        #expect(uart.readByte(Reg.lsr) & 0x01 == 0x01)
        #expect(uart.readByte(Reg.thr) == UInt8(ascii: "a"))
        #expect(uart.readByte(Reg.thr) == UInt8(ascii: "b"))
        #expect(uart.readByte(Reg.lsr) & 0x01 == 0)
        #expect(!line.current)
        #expect(uart.readByte(Reg.iir) == 0xC1)
    }

    @Test func receiveFIFOHoldsSixtyFourBytesAndRefusesTheRest() {
        let uart = serial
        let input = [UInt8](repeating: 0x41, count: 100)
        #expect(uart.enqueueInput(input) == 64)
        #expect(uart.enqueueInput(input) == 0)
        _ = uart.readByte(Reg.thr)
        #expect(uart.enqueueInput(input) == 1)
    }

    @Test func fcrClearsTheReceiveFIFO() {
        let uart = serial
        uart.enqueueInput([1, 2, 3])
        uart.writeByte(Reg.iir, 0x07)
        #expect(uart.readByte(Reg.lsr) & 0x01 == 0)
    }

    @Test func thrEmptyInterruptFollowsWritesAndIsClearedByReadingIIR() {
        let uart = serial
        uart.writeByte(Reg.mcr, 0x08)
        uart.writeByte(Reg.ier, 0x02)
        #expect(line.current, "enabling THRI with THR empty interrupts at once")
        #expect(uart.readByte(Reg.iir) & 0x0F == 0x02)
        #expect(!line.current, "reading IIR acknowledges THRE")
        #expect(uart.readByte(Reg.iir) == 0xC1)
        uart.writeByte(Reg.thr, 0x41)
        #expect(line.current, "each transmitted byte leaves THR empty again")
        #expect(uart.readByte(Reg.iir) & 0x0F == 0x02)
        #expect(!line.current)
    }

    @Test func receiveInterruptOutranksTransmitInterrupt() {
        let uart = serial
        uart.writeByte(Reg.mcr, 0x08)
        uart.writeByte(Reg.ier, 0x03)
        uart.enqueueInput([0x42])
        #expect(uart.readByte(Reg.iir) & 0x0F == 0x04)
        _ = uart.readByte(Reg.thr)
        #expect(uart.readByte(Reg.iir) & 0x0F == 0x02)
    }

    @Test func interruptIsGatedByOUT2() {
        let uart = serial
        uart.writeByte(Reg.mcr, 0x00)
        uart.writeByte(Reg.ier, 0x01)
        uart.enqueueInput([0x42])
        #expect(!line.current)
        uart.writeByte(Reg.mcr, 0x08)
        #expect(line.current)
    }

    @Test func loopbackMirrorsModemControlAndEchoesTransmittedBytes() {
        let uart = serial
        uart.writeByte(Reg.mcr, 0x1A)  // loop, RTS, OUT2: what Linux's probe writes
        #expect(uart.readByte(Reg.msr) & 0xF0 == 0x90)
        uart.writeByte(Reg.thr, 0x55)
        #expect(output.text.isEmpty, "loopback keeps bytes inside the UART")
        #expect(uart.readByte(Reg.thr) == 0x55)
        #expect(uart.enqueueInput([1]) == 0, "the line is disconnected in loopback")
    }

    @Test func scratchRegisterHoldsItsValue() {
        let uart = serial
        uart.writeByte(Reg.scr, 0xA5)
        #expect(uart.readByte(Reg.scr) == 0xA5)
    }

    @Test func stateSurvivesSaveAndRestore() {
        let uart = serial
        uart.writeByte(Reg.mcr, 0x08)
        uart.writeByte(Reg.ier, 0x05)
        uart.enqueueInput(Array("xyz".utf8))
        let saved = uart.saveState()
        let copy = Serial16550(interrupt: line, output: output.append)
        copy.restoreState(saved)
        #expect(copy.saveState() == saved)
        #expect(copy.readByte(Reg.thr) == UInt8(ascii: "x"))
        #expect(copy.readByte(Reg.ier) == 0x05)
    }
}
