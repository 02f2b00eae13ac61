import SwiftletCore
import Testing

@Suite struct LittleEndianTests {
    @Test func loadsAndStoresInArrays() {
        var bytes = [UInt8](repeating: 0, count: 8)
        let stored = bytes.storeLittleEndian(UInt32(0x1234_5678), at: 2)
        #expect(stored)
        #expect(bytes == [0, 0, 0x78, 0x56, 0x34, 0x12, 0, 0])
        #expect(bytes.loadLittleEndian(UInt16.self, at: 3) == 0x3456)
        #expect(bytes.loadLittleEndian(UInt64.self, at: 0) == 0x0000_1234_5678_0000)
    }

    @Test func refusesFieldsThatDoNotFit() {
        var bytes = [UInt8](repeating: 0, count: 4)
        let straddling = bytes.storeLittleEndian(UInt32(1), at: 1)
        let negative = bytes.storeLittleEndian(UInt8(1), at: -1)
        #expect(!straddling && !negative)
        #expect(bytes == [0, 0, 0, 0])
        #expect(bytes.loadLittleEndian(UInt32.self, at: 1) == nil)
        #expect(bytes.loadLittleEndian(UInt8.self, at: 4) == nil)
        #expect(bytes.loadLittleEndian(UInt8.self, at: Int.max) == nil)
    }

    @Test func appends() {
        var bytes: [UInt8] = [0xAA]
        bytes.appendLittleEndian(UInt16(0xBBCC))
        bytes += .littleEndian(UInt32(1))
        #expect(bytes == [0xAA, 0xCC, 0xBB, 1, 0, 0, 0])
    }

    @Test func accessValues() {
        var bytes: [UInt8] = [0x01, 0x02, 0x03]
        bytes.withUnsafeBytes { #expect($0.littleEndianValue == 0x030201) }
        bytes.withUnsafeMutableBytes { $0.storeLittleEndian(0xAABB_CCDD) }
        #expect(bytes == [0xDD, 0xCC, 0xBB])
        bytes.withUnsafeMutableBytes { $0.fillWithOnes() }
        #expect(bytes == [0xFF, 0xFF, 0xFF])
        bytes.withUnsafeMutableBytes { $0.fillWithZeros() }
        #expect(bytes == [0, 0, 0])
    }
}
