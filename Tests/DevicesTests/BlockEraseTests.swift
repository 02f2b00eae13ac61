#if canImport(Glibc)
import Glibc
#endif
import Testing
import GuestMemory
import SwiftletCore
@testable import Devices

/// DISCARD and WRITE_ZEROES through the transport, against a real file.
@Suite struct BlockEraseTests {
    let disk: TemporaryDisk
    let harness: VirtioHarness
    let block: VirtioBlock
    static let discard: UInt32 = 11
    static let writeZeroes: UInt32 = 13

    init() throws {
        disk = try TemporaryDisk(sectors: 64)
        (harness, block) = try VirtioHarness.blockHarness(disk: disk, id: "erase")
        try harness.start(features: VirtioFeature.version1 | VirtioBlock.featureDiscard | VirtioBlock.featureWriteZeroes)
    }

    /// Posts one request of `type` whose ranges are `segments` (sector, count, flags); returns its status.
    private func erase(_ type: UInt32, _ segments: [(UInt64, UInt32, UInt32)], firstDescriptor: UInt16 = 0) throws -> UInt8 {
        var bytes: [UInt8] = []
        for (sector, count, flags) in segments {
            var segment = [UInt8](repeating: 0, count: 16)
            segment.storeLittleEndian(sector, at: 0)
            segment.storeLittleEndian(count, at: 8)
            segment.storeLittleEndian(flags, at: 12)
            bytes += segment
        }
        try harness.memory.write(bytes: bytes, at: 0x30000)
        let status = try harness.postRequest(
            type: type, data: [DataBuffer(address: 0x30000, length: UInt32(bytes.count), writable: false)], firstDescriptor: firstDescriptor)
        try harness.kick()
        return try harness.statusByte(status)
    }

    private func sector(_ number: Int) -> ArraySlice<UInt8> { disk.contents()[(number * 512)..<((number + 1) * 512)] }

    @Test func offeredOnlyOnAWritableDiskWithItsLimits() throws {
        #expect(harness.offeredFeatures() & (VirtioBlock.featureDiscard | VirtioBlock.featureWriteZeroes) != 0)
        let config = VirtioPCILayout.deviceConfiguration
        #expect(harness.read(config + 36, width: 4) == UInt64(VirtioBlock.maxEraseSectors))
        #expect(harness.read(config + 40, width: 4) == UInt64(VirtioBlock.maxEraseSegments))
        #expect(harness.read(config + 44, width: 4) == 8)
        #expect(harness.read(config + 56, width: 1) == 1)
        let other = try TemporaryDisk(sectors: 8)
        let readOnly = try VirtioHarness(device: try VirtioBlock(path: other.path, readOnly: true, id: "ro"))
        #expect(readOnly.offeredFeatures() & (VirtioBlock.featureDiscard | VirtioBlock.featureWriteZeroes) == 0)
        #expect(readOnly.read(config + 36, width: 4) == 0)
    }

    @Test func writeZeroesClearsExactlyTheRangesAndKeepsTheSize() throws {
        let size = disk.contents().count
        #expect(try erase(Self.writeZeroes, [(8, 8, 0), (20, 1, 1)]) == BlockStatus.ok)
        for number in 8..<16 { #expect(sector(number).allSatisfy { $0 == 0 }, "sector \(number)") }
        #expect(sector(20).allSatisfy { $0 == 0 })
        for number in [7, 16, 19, 21] { #expect(sector(number).allSatisfy { $0 == UInt8(number) }, "sector \(number) was touched") }
        #expect(disk.contents().count == size)
        #expect(block.counters.zeroedRanges == 1)
    }

    @Test func discardFreesTheRangeWhereTheHostCan() throws {
        #expect(try erase(Self.discard, [(16, 32, 0)]) == BlockStatus.ok)
        // Where the host punched a hole the range reads as zeros; either way nothing else changed.
        let punched = (16..<48).allSatisfy { sector($0).allSatisfy { $0 == 0 } }
        let kept = (16..<48).allSatisfy { number in sector(number).allSatisfy { $0 == UInt8(number) } }
        #expect(punched || kept)
        #expect(sector(15).allSatisfy { $0 == 15 } && sector(48).allSatisfy { $0 == 48 })
        #expect(block.counters.discards == 1)
    }

    @Test func badRangesAreRefusedBeforeAnythingIsErased() throws {
        // The second range runs past the end: the first must not have been zeroed either.
        #expect(try erase(Self.writeZeroes, [(2, 1, 0), (60, 8, 0)]) == BlockStatus.ioError)
        #expect(sector(2).allSatisfy { $0 == 2 })
        #expect(try erase(Self.writeZeroes, [(UInt64.max / 256, 1, 0)], firstDescriptor: 4) == BlockStatus.ioError)
        // An unmap flag on a discard, and flags the spec does not define.
        #expect(try erase(Self.discard, [(2, 1, 1)], firstDescriptor: 8) == BlockStatus.unsupported)
        #expect(try erase(Self.writeZeroes, [(2, 1, 4)], firstDescriptor: 12) == BlockStatus.unsupported)
        #expect(sector(2).allSatisfy { $0 == 2 })
        #expect(harness.errors.isEmpty)
    }

    @Test func malformedSegmentListsAreRefused() throws {
        // Not a whole number of 16-byte ranges, and more ranges than offered.
        try harness.memory.write(bytes: [UInt8](repeating: 0, count: 24), at: 0x30000)
        let ragged = try harness.postRequest(type: Self.writeZeroes, data: [DataBuffer(address: 0x30000, length: 24, writable: false)])
        try harness.kick()
        #expect(try harness.statusByte(ragged) == BlockStatus.ioError)
        let many = Array(repeating: (UInt64(1), UInt32(1), UInt32(0)), count: Int(VirtioBlock.maxEraseSegments) + 1)
        #expect(try erase(Self.writeZeroes, many, firstDescriptor: 4) == BlockStatus.ioError)
        #expect(sector(1).allSatisfy { $0 == 1 })
    }

    @Test func aReadOnlyDiskRefusesBoth() throws {
        let other = try TemporaryDisk(sectors: 8)
        let (readOnly, _) = try VirtioHarness.blockHarness(disk: other, readOnly: true, id: "ro")
        try readOnly.start()
        var segment = [UInt8](repeating: 0, count: 16)
        segment.storeLittleEndian(UInt64(1), at: 0)
        segment.storeLittleEndian(UInt32(1), at: 8)
        try readOnly.memory.write(bytes: segment, at: 0x30000)
        let status = try readOnly.postRequest(type: Self.writeZeroes, data: [DataBuffer(address: 0x30000, length: 16, writable: false)])
        try readOnly.kick()
        #expect(try readOnly.statusByte(status) == BlockStatus.ioError)
        #expect(other.contents()[512..<1024].allSatisfy { $0 == 1 })
    }
}
