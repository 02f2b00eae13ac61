import Testing
@testable import Devices

@Suite struct PCIMSIXTests {
    let sender = RecordingMSISender()
    let table: MSIXTable

    init() {
        table = MSIXTable(vectorCount: 3, sender: sender)
    }

    func program(_ vector: Int, address: UInt64, data: UInt32, masked: Bool) {
        let base = UInt64(vector * 16)
        for (offset, value) in [(0, address & 0xFFFF_FFFF), (4, address >> 32), (8, UInt64(data)), (12, masked ? 1 : 0)] {
            withUnsafeBytes(of: UInt32(value).littleEndian) { table.writeTable(offset: base + UInt64(offset), data: $0) }
        }
    }

    func pba() -> UInt64 {
        var value: UInt64 = 0
        withUnsafeMutableBytes(of: &value) { table.readPBA(offset: 0, data: $0) }
        return value
    }

    @Test func disabledTableSendsNothing() {
        program(0, address: 0xFEE0_0000, data: 0x41, masked: false)
        #expect(!table.signal(vector: 0))
        #expect(sender.messages.isEmpty)
        #expect(pba() == 0)
    }

    @Test func entriesStartMaskedAndPendWhileMasked() {
        table.setMessageControl(0x8000)
        #expect(!table.signal(vector: 1))
        #expect(pba() == 0b10)
        program(1, address: 0xFEE0_1000, data: 0x42, masked: true)
        #expect(sender.messages.isEmpty)
        program(1, address: 0xFEE0_1000, data: 0x42, masked: false)
        #expect(sender.messages == [MSIMessage(address: 0xFEE0_1000, data: 0x42)])
        #expect(pba() == 0)
        #expect(table.signal(vector: 1))
        #expect(sender.messages.count == 2)
    }

    @Test func functionMaskHoldsEverythingUntilCleared() {
        program(0, address: 0xFEE0_0000, data: 0x40, masked: false)
        program(2, address: 0x1_FEE0_0000, data: 0x44, masked: false)
        table.setMessageControl(0xC000)  // enabled + function masked
        #expect(!table.signal(vector: 0))
        #expect(!table.signal(vector: 2))
        #expect(pba() == 0b101)
        #expect(sender.messages.isEmpty)
        table.setMessageControl(0x8000)
        #expect(sender.messages == [MSIMessage(address: 0xFEE0_0000, data: 0x40), MSIMessage(address: 0x1_FEE0_0000, data: 0x44)])
        #expect(pba() == 0)
    }

    @Test func invalidVectorsAndPBAWritesAreIgnored() {
        table.setMessageControl(0x8000)
        #expect(!table.signal(vector: 3))
        #expect(!table.signal(vector: MSIXTable.noVector))
        var readBack: UInt32 = 0
        withUnsafeBytes(of: UInt32(0xFFFF_FFFF)) { table.writeTable(offset: 12, data: $0) }
        withUnsafeMutableBytes(of: &readBack) { table.readTable(offset: 12, data: $0) }
        #expect(readBack == 1)  // only the mask bit of vector control is writable
        withUnsafeMutableBytes(of: &readBack) { table.readTable(offset: 0x1000, data: $0) }
        #expect(readBack == 0)
    }

    @Test func snapshotKeepsTableAndPendingBits() throws {
        program(0, address: 0xFEE0_0000, data: 0x40, masked: true)
        table.setMessageControl(0x8000)
        table.signal(vector: 0)
        let saved = table.saveState()
        let copy = MSIXTable(vectorCount: 3, sender: sender)
        try copy.restoreState(saved)
        #expect(copy.saveState() == saved)
        #expect(copy.isPending(0))
        #expect(throws: PCIError.self) { try MSIXTable(vectorCount: 2, sender: sender).restoreState(saved) }
    }
}
