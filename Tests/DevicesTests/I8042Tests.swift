import Devices
import Synchronization
import Testing

@Suite struct I8042Tests {
    final class ResetCounter: Sendable {
        let count = Mutex(0)
        func hit() { count.withLock { $0 += 1 } }
        var value: Int { count.withLock { $0 } }
    }

    let resets = ResetCounter()
    let line = RecordingInterruptLine()
    var controller: I8042Controller { I8042Controller(interrupt: line, onReset: resets.hit) }

    @Test func resetCommandPulsesTheResetLine() {
        let device = controller
        device.writeByte(4, 0xFE)
        #expect(resets.value == 1)
    }

    @Test func outputPortWriteWithBitZeroClearResets() {
        let device = controller
        device.writeByte(4, 0xD1)
        device.writeByte(0, 0x01)
        #expect(resets.value == 0)
        device.writeByte(4, 0xD1)
        device.writeByte(0, 0x00)
        #expect(resets.value == 1)
    }

    @Test func configurationByteRoundTrips() {
        let device = controller
        device.writeByte(4, 0x60)
        device.writeByte(0, 0x47)
        device.writeByte(4, 0x20)
        #expect(device.readByte(4) & 0x01 == 0x01, "output buffer full")
        #expect(device.readByte(0) == 0x47)
        #expect(device.readByte(4) & 0x01 == 0)
    }

    @Test func selfTestAnswersAndRaisesKeyboardIRQ() {
        let device = controller
        device.writeByte(4, 0xAA)
        #expect(line.current)
        #expect(device.readByte(0) == 0x55)
        #expect(!line.current)
    }

    @Test func keyboardResetIsAcknowledged() {
        let device = controller
        device.writeByte(0, 0xFF)
        #expect(device.readByte(0) == 0xFA)
        #expect(device.readByte(0) == 0xAA)
    }

    @Test func unusedPortsReadAllOnes() {
        #expect(controller.readByte(2) == 0xFF)
    }
}

@Suite struct I8042FloodTests {
    /// A guest looping `outb(0xF2, 0x60)` (identify: three answer bytes each) without reading
    /// must not grow the controller's memory: the output buffer keeps at most 16 bytes.
    @Test func identifyFloodKeepsTheOutputBufferBounded() {
        let device = I8042Controller(interrupt: RecordingInterruptLine(), onReset: {})
        for _ in 0..<100_000 { device.writeByte(0, 0xF2) }
        let kept = device.saveState().outputBuffer
        #expect(kept.count <= I8042Controller.outputBufferCapacity)
        // The oldest answers are the ones kept: a full controller drops what comes later.
        #expect(Array(kept.prefix(3)) == [0xFA, 0xAB, 0x83])
        for byte in kept { #expect(device.readByte(0) == byte) }
        #expect(device.readByte(4) & 0x01 == 0, "buffer empty after reading everything")
    }

    @Test func restoreKeepsAtMostTheCapacity() {
        let device = I8042Controller(interrupt: RecordingInterruptLine(), onReset: {})
        var state = I8042Controller.State()
        state.outputBuffer = Array(0..<200)
        device.restoreState(state)
        #expect(device.saveState().outputBuffer == Array(0..<UInt8(I8042Controller.outputBufferCapacity)))
    }
}
