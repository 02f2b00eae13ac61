import Testing
@testable import GuestMemory

@Suite struct GuestMemoryTests {
    let memory = try! GuestMemory(layout: [(0, 0x10000), (0x100000, 0x2000)])

    @Test func roundTripsLittleEndianValues() throws {
        try memory.write(UInt32(0xDEAD_BEEF), at: 0x100)
        #expect(try memory.read(UInt32.self, at: 0x100) == 0xDEAD_BEEF)
        #expect(try memory.readBytes(at: 0x100, count: 4) == [0xEF, 0xBE, 0xAD, 0xDE])
        try memory.write(UInt64(0x0102_0304_0506_0708), at: 0x101FF8)
        #expect(try memory.read(UInt64.self, at: 0x101FF8) == 0x0102_0304_0506_0708)
    }

    @Test func refusesAccessOutsideRegions() {
        #expect(throws: GuestMemoryError.outOfBounds(address: 0xFFFE, length: 4)) { try memory.read(UInt32.self, at: 0xFFFE) }
        #expect(throws: GuestMemoryError.self) { try memory.write(UInt8(1), at: 0x10000) }
        #expect(throws: GuestMemoryError.self) { try memory.read(UInt64.self, at: 0x101FFC) }
        #expect(throws: GuestMemoryError.self) { try memory.readBytes(at: UInt64.max - 2, count: 8) }
        #expect(throws: GuestMemoryError.self) { try memory.hostPointer(at: 0x10, length: UInt64.max) }
    }

    @Test func accessMayNotSpanTwoRegions() {
        #expect(!memory.contains(0xFFF0, length: 0x100))
        #expect(memory.contains(0xFFF0, length: 0x10))
    }

    @Test func rejectsBadLayouts() {
        #expect(throws: GuestMemoryError.self) { try GuestMemory(layout: []) }
        #expect(throws: GuestMemoryError.self) { try GuestMemory(layout: [(0, 100)]) }
        #expect(throws: GuestMemoryError.self) { try GuestMemory(layout: [(0x2000, 0x1000), (0x1000, 0x1000)]) }
    }
}
