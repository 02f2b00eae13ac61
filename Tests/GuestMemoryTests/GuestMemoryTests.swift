import Foundation
import SwiftletCore
import Testing
@testable import GuestMemory

/// Two regions with a gap, like RAM below and above the MMIO hole: [0, 64 KiB) and
/// [1 MiB, 1 MiB + 8 KiB).
func twoRegions() throws -> GuestMemory {
    try GuestMemory(layout: [AddressRange(start: 0, length: 0x10000)!, AddressRange(start: 0x10_0000, length: 0x2000)!])
}

@Suite struct GuestMemoryAccessTests {
    let memory = try! twoRegions()

    @Test func roundTripsLittleEndianValues() throws {
        try memory.write(UInt32(0xDEAD_BEEF), at: 0x100)
        #expect(try memory.read(UInt32.self, at: 0x100) == 0xDEAD_BEEF)
        #expect(try memory.readBytes(at: 0x100, count: 4) == [0xEF, 0xBE, 0xAD, 0xDE])
        try memory.write(UInt64(0x0102_0304_0506_0708), at: 0x10_1FF8)
        #expect(try memory.read(UInt64.self, at: 0x10_1FF8) == 0x0102_0304_0506_0708)
        // Unaligned accesses are allowed (a guest's structures need not be aligned).
        try memory.write(UInt16(0xA1B2), at: 0x333)
        #expect(try memory.readBytes(at: 0x333, count: 2) == [0xB2, 0xA1])
    }

    @Test func regionsAreReportedInOrder() {
        #expect(memory.regions.count == 2)
        #expect(memory.layout == [AddressRange(start: 0, length: 0x10000)!, AddressRange(start: 0x10_0000, length: 0x2000)!])
        #expect(memory.totalSize == 0x12000)
        #expect(memory.regions[1].guestBase == 0x10_0000)
        #expect(memory.regions[1].size == 0x2000)
    }

    @Test func theSecondRegionIsItsOwnMapping() throws {
        try memory.write(bytes: [1, 2, 3], at: 0x10_0000)
        let region = memory.regions[1]
        #expect(Array(UnsafeRawBufferPointer(start: region.hostPointer, count: 3)) == [1, 2, 3])
        #expect(try memory.hostPointer(at: 0x10_0010, length: 1) == region.hostPointer + 0x10)
    }

    @Test func accessesEndingExactlyAtARegionEdgeAreAllowed() throws {
        #expect(memory.contains(0xFFFC, length: 4))
        #expect(!memory.contains(0x10000, length: 1), "the first byte past a region belongs to no region")
        #expect(memory.contains(0x10000, length: 0), "an empty access at the end of a region is inside it")
        #expect(memory.contains(0x10_1FF8, length: 8))
        try memory.write(UInt32(7), at: 0xFFFC)
        #expect(try memory.buffer(at: 0x10_0000, length: 0x2000).count == 0x2000)
    }

    @Test func refusesAccessOutsideRegionsWithTheAddressAndLength() {
        #expect(throws: GuestMemoryError.outOfBounds(address: 0xFFFE, length: 4)) { try memory.read(UInt32.self, at: 0xFFFE) }
        #expect(throws: GuestMemoryError.outOfBounds(address: 0x10000, length: 1)) { try memory.write(UInt8(1), at: 0x10000) }
        #expect(throws: GuestMemoryError.outOfBounds(address: 0x10_1FFC, length: 8)) { try memory.read(UInt64.self, at: 0x10_1FFC) }
        // The gap between the regions, and below the second one.
        #expect(throws: GuestMemoryError.self) { try memory.readBytes(at: 0x8_0000, count: 1) }
        #expect(throws: GuestMemoryError.self) { try memory.fill(0, at: 0xF_FFFF, count: 2) }
        #expect(throws: GuestMemoryError.self) { try memory.buffer(at: 0x10_2000, length: 1) }
    }

    @Test func wrappingAccessesAreRefused() {
        #expect(throws: GuestMemoryError.self) { try memory.readBytes(at: GuestAddress(UInt64.max - 2), count: 8) }
        #expect(throws: GuestMemoryError.self) { try memory.hostPointer(at: 0x10, length: UInt64.max) }
        #expect(throws: GuestMemoryError.self) { try memory.hostPointer(at: GuestAddress(UInt64.max), length: 2) }
        #expect(!memory.contains(GuestAddress(UInt64.max), length: 1))
    }

    @Test func accessMayNotSpanTwoRegions() {
        #expect(!memory.contains(0xFFF0, length: 0x10_0000))
        #expect(memory.contains(0xFFF0, length: 0x10))
    }

    @Test func fillAndBulkWrites() throws {
        try memory.fill(0xAB, at: 0x2000, count: 16)
        #expect(try memory.readBytes(at: 0x2000, count: 16) == [UInt8](repeating: 0xAB, count: 16))
        try memory.write(bytes: [9, 8, 7][...], at: 0x2004)
        #expect(try memory.readBytes(at: 0x2003, count: 5) == [0xAB, 9, 8, 7, 0xAB])
        // A refused bulk write writes nothing.
        #expect(throws: GuestMemoryError.self) { try memory.write(bytes: [1, 1, 1, 1], at: 0xFFFE) }
        #expect(try memory.readBytes(at: 0xFFFE, count: 2) == [0, 0])
    }

    @Test func errorsReadWell() {
        #expect(GuestMemoryError.outOfBounds(address: 0x1000, length: 4).description == "guest memory access out of bounds: 0x1000 + 4 bytes")
        #expect(GuestMemoryError.invalidLayout("no regions").description == "invalid guest memory layout: no regions")
    }
}

@Suite struct GuestMemoryLayoutTests {
    private func expectInvalid(_ layout: [AddressRange], _ sourceLocation: SourceLocation = #_sourceLocation) {
        do {
            _ = try GuestMemory(layout: layout)
            Issue.record("layout \(layout) was accepted", sourceLocation: sourceLocation)
        } catch {
            guard case .invalidLayout = error else { Issue.record("\(error)", sourceLocation: sourceLocation); return }
        }
    }

    @Test func rejectsEmptyUnalignedOverlappingAndUnsortedLayouts() {
        expectInvalid([])
        expectInvalid([AddressRange(start: 0, length: 100)!])
        expectInvalid([AddressRange(start: 0x800, length: 0x1000)!])
        expectInvalid([AddressRange(start: 0, length: 0)!])
        expectInvalid([AddressRange(start: 0x2000, length: 0x1000)!, AddressRange(start: 0x1000, length: 0x1000)!])
        expectInvalid([AddressRange(start: 0, length: 0x2000)!, AddressRange(start: 0x1000, length: 0x1000)!])
    }

    @Test func rejectsARegionReachingTheTopOfTheAddressSpace() {
        expectInvalid([AddressRange(start: UInt64.max - 0xFFF, length: 0x1000)!])
    }

    @Test func adjacentRegionsAreAllowed() throws {
        let memory = try GuestMemory(layout: [AddressRange(start: 0, length: 0x1000)!, AddressRange(start: 0x1000, length: 0x1000)!])
        // Adjacent, but still two mappings: an access may not cross from one into the other.
        #expect(!memory.contains(0xFFC, length: 8))
        #expect(memory.contains(0x1000, length: 0x1000))
    }
}

@Suite struct GuestMemoryPrivateFileTests {
    @Test func mapsTheFileRegionByRegionAndNeverWritesIt() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("guest-memory-\(UUID()).mem").path
        defer { unlink(path) }
        var contents = [UInt8](repeating: 0, count: 0x3000)
        contents[0] = 0x11
        contents[0x1000] = 0x22  // first byte of the second region
        contents[0x2FFF] = 0x33
        try Data(contents).write(to: URL(fileURLWithPath: path))
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        try #require(fd >= 0)
        defer { close(fd) }

        let memory = try GuestMemory(
            layout: [AddressRange(start: 0, length: 0x1000)!, AddressRange(start: 0x10_0000, length: 0x2000)!], privateFile: fd)
        #expect(try memory.read(UInt8.self, at: 0) == 0x11)
        #expect(try memory.read(UInt8.self, at: 0x10_0000) == 0x22)
        #expect(try memory.read(UInt8.self, at: 0x10_1FFF) == 0x33)
        // Private: the guest's writes stay in this process.
        try memory.write(UInt8(0x99), at: 0)
        #expect(try memory.read(UInt8.self, at: 0) == 0x99)
        #expect(try Data(contentsOf: URL(fileURLWithPath: path))[0] == 0x11)
    }

    @Test func aDescriptorThatCannotBeMappedIsAMapFailure() {
        do {
            _ = try GuestMemory(layout: [AddressRange(start: 0, length: 0x1000)!], privateFile: -1)
            Issue.record("mapping descriptor -1 succeeded")
        } catch {
            guard case .mapFailed(let size, let cause) = error else { Issue.record("\(error)"); return }
            #expect(size == 0x1000)
            #expect(cause.errno == .badFileDescriptor)
            #expect(error.description.contains("cannot map"))
        }
    }
}
