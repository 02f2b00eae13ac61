#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing
import GuestMemory
@testable import Devices

@Suite struct BlockRequestTests {
    let disk: TemporaryDisk
    let harness: VirtioHarness
    let block: VirtioBlock

    init() throws {
        disk = try TemporaryDisk(sectors: 16, extraBytes: 100)
        (harness, block) = try VirtioHarness.blockHarness(disk: disk, id: "disk-1")
        try harness.start()
    }

    @Test func capacityIgnoresAPartialLastSector() {
        #expect(block.capacity == 16)
        #expect(harness.read(VirtioPCILayout.deviceConfiguration, width: 8) == 16)
        // size_max (not offered) reads 0; seg_max lets Linux send many segments per request.
        #expect(harness.read(VirtioPCILayout.deviceConfiguration + 8, width: 4) == 0)
        #expect(harness.read(VirtioPCILayout.deviceConfiguration + 12, width: 4) == UInt64(VirtioBlock.segmentMax))
        #expect(harness.read(VirtioPCILayout.deviceConfiguration + 16, width: 8) == 0)
    }

    @Test func oneRequestSpansScatteredSegments() throws {
        // What Linux sends once SEG_MAX is offered: one request, data in separate pages.
        let segments = [
            DataBuffer(address: 0x40000, length: 512, writable: true),
            DataBuffer(address: 0x48000, length: 1024, writable: true),
            DataBuffer(address: 0x44000, length: 512, writable: true),
        ]
        let read = try harness.postRequest(type: BlockRequestType.read, sector: 2, data: segments)
        try harness.kick()
        #expect(try harness.statusByte(read) == BlockStatus.ok)
        #expect(try harness.usedElement(0) == (0, 2049))
        // The temporary disk holds sector number N in every byte of sector N.
        #expect(try harness.memory.readBytes(at: 0x40000, count: 512).allSatisfy { $0 == 2 })
        let middle = try harness.memory.readBytes(at: 0x48000, count: 1024)
        #expect(middle[0..<512].allSatisfy { $0 == 3 } && middle[512...].allSatisfy { $0 == 4 })
        #expect(try harness.memory.readBytes(at: 0x44000, count: 512).allSatisfy { $0 == 5 })
    }

    @Test func readThenWriteRoundTrip() throws {
        let read = try harness.postRequest(type: BlockRequestType.read, sector: 3, data: [DataBuffer(address: 0x40000, length: 1024, writable: true)])
        try harness.kick()
        #expect(try harness.statusByte(read) == BlockStatus.ok)
        #expect(try harness.usedElement(0) == (0, 1025))
        let bytes = try harness.memory.readBytes(at: 0x40000, count: 1024)
        #expect(bytes[0..<512].allSatisfy { $0 == 3 } && bytes[512...].allSatisfy { $0 == 4 })

        let pattern = (0..<512).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        try harness.memory.write(bytes: pattern, at: 0x50000)
        let write = try harness.postRequest(type: BlockRequestType.write, sector: 5, data: [DataBuffer(address: 0x50000, length: 512, writable: false)], firstDescriptor: 4)
        try harness.kick()
        #expect(try harness.statusByte(write) == BlockStatus.ok)
        #expect(try harness.usedElement(1) == (4, 1))
        let file = disk.contents()
        #expect(Array(file[2560..<3072]) == pattern)
        #expect(file[2048..<2560].allSatisfy { $0 == 4 } && file[3072..<3584].allSatisfy { $0 == 6 })

        try harness.memory.fill(0, at: 0x60000, count: 512)
        let again = try harness.postRequest(type: BlockRequestType.read, sector: 5, data: [DataBuffer(address: 0x60000, length: 512, writable: true)], firstDescriptor: 8)
        try harness.kick()
        #expect(try harness.statusByte(again) == BlockStatus.ok)
        #expect(try harness.memory.readBytes(at: 0x60000, count: 512) == pattern)
        #expect(harness.queueInterrupts == 3)
    }

    @Test func dataMaySpanSeveralBuffers() throws {
        let status = try harness.postRequest(type: BlockRequestType.read, sector: 1, data: [
            DataBuffer(address: 0x40000, length: 100, writable: true),
            DataBuffer(address: 0x48000, length: 924, writable: true),
        ])
        try harness.kick()
        #expect(try harness.statusByte(status) == BlockStatus.ok)
        #expect(try harness.memory.readBytes(at: 0x40000, count: 100).allSatisfy { $0 == 1 })
        let rest = try harness.memory.readBytes(at: 0x48000, count: 924)
        #expect(rest[0..<412].allSatisfy { $0 == 1 } && rest[412...].allSatisfy { $0 == 2 })
    }

    @Test(arguments: [
        (UInt64(16), UInt32(512)),  // first sector past the end
        (UInt64(15), UInt32(1024)),  // starts inside, ends outside
        (UInt64.max / 512 + 1, UInt32(512)),  // sector * 512 overflows
        (UInt64.max / 512, UInt32(1024)),  // offset + length overflows
    ])
    func requestsPastCapacityFailWithoutTouchingTheFile(sector: UInt64, length: UInt32) throws {
        let before = disk.contents()
        try harness.memory.fill(0xAB, at: 0x40000, count: Int(length))
        let write = try harness.postRequest(type: BlockRequestType.write, sector: sector, data: [DataBuffer(address: 0x40000, length: length, writable: false)])
        let read = try harness.postRequest(type: BlockRequestType.read, sector: sector, data: [DataBuffer(address: 0x50000, length: length, writable: true)], firstDescriptor: 4)
        try harness.kick()
        #expect(try harness.statusByte(write) == BlockStatus.ioError)
        #expect(try harness.statusByte(read) == BlockStatus.ioError)
        #expect(disk.contents() == before)
        #expect(harness.usedIndex == 2)
        #expect(harness.errors.isEmpty)
    }

    @Test func lengthNotAMultipleOf512Fails() throws {
        let before = disk.contents()
        let write = try harness.postRequest(type: BlockRequestType.write, sector: 0, data: [DataBuffer(address: 0x40000, length: 513, writable: false)])
        let read = try harness.postRequest(type: BlockRequestType.read, sector: 0, data: [DataBuffer(address: 0x50000, length: 100, writable: true)], firstDescriptor: 4)
        try harness.kick()
        #expect(try harness.statusByte(write) == BlockStatus.ioError)
        #expect(try harness.statusByte(read) == BlockStatus.ioError)
        #expect(disk.contents() == before)
    }

    @Test func dataDirectionMustMatchTheType() throws {
        let before = disk.contents()
        // OUT whose data the device would have to write; IN whose data it could only read.
        let write = try harness.postRequest(type: BlockRequestType.write, sector: 0, data: [DataBuffer(address: 0x40000, length: 512, writable: true)])
        try harness.memory.fill(0x77, at: 0x50000, count: 512)
        let read = try harness.postRequest(type: BlockRequestType.read, sector: 0, data: [DataBuffer(address: 0x50000, length: 512, writable: false)], firstDescriptor: 4)
        try harness.kick()
        #expect(try harness.statusByte(write) == BlockStatus.ioError)
        #expect(try harness.statusByte(read) == BlockStatus.ioError)
        #expect(try harness.memory.readBytes(at: 0x50000, count: 512).allSatisfy { $0 == 0x77 })
        #expect(disk.contents() == before)
    }

    @Test func flushSucceeds() throws {
        let status = try harness.postRequest(type: BlockRequestType.flush)
        try harness.kick()
        #expect(try harness.statusByte(status) == BlockStatus.ok)
        #expect(try harness.usedElement(0) == (0, 1))
    }

    @Test func getIDIsPaddedWithZeros() throws {
        try harness.memory.fill(0xCC, at: 0x40000, count: 32)
        let status = try harness.postRequest(type: BlockRequestType.getID, data: [DataBuffer(address: 0x40000, length: 20, writable: true)])
        let short = try harness.postRequest(type: BlockRequestType.getID, data: [DataBuffer(address: 0x50000, length: 10, writable: true)], firstDescriptor: 4)
        try harness.kick()
        #expect(try harness.statusByte(status) == BlockStatus.ok)
        #expect(try harness.usedElement(0) == (0, 21))
        #expect(try harness.memory.readBytes(at: 0x40000, count: 21) == Array("disk-1".utf8) + Array(repeating: 0, count: 14) + [0xCC])
        #expect(try harness.statusByte(short) == BlockStatus.ioError)
    }

    @Test func unknownTypeIsUnsupported() throws {
        let before = disk.contents()
        let status = try harness.postRequest(type: 14, data: [DataBuffer(address: 0x40000, length: 512, writable: false)])  // SECURE_ERASE: not offered
        try harness.kick()
        #expect(try harness.statusByte(status) == BlockStatus.unsupported)
        #expect(disk.contents() == before)
    }
}

@Suite struct BlockReadOnlyAndOpenTests {
    @Test func writesToAReadOnlyDiskFailAndLeaveItUntouched() throws {
        let disk = try TemporaryDisk(sectors: 8)
        let before = disk.contents()
        let (harness, block) = try VirtioHarness.blockHarness(disk: disk, readOnly: true)
        #expect(block.deviceFeatures & VirtioBlock.featureReadOnly != 0)
        try harness.start(features: VirtioFeature.version1 | VirtioBlock.featureReadOnly)
        try harness.memory.fill(0xAB, at: 0x40000, count: 512)
        let write = try harness.postRequest(type: BlockRequestType.write, sector: 1, data: [DataBuffer(address: 0x40000, length: 512, writable: false)])
        let read = try harness.postRequest(type: BlockRequestType.read, sector: 1, data: [DataBuffer(address: 0x50000, length: 512, writable: true)], firstDescriptor: 4)
        try harness.kick()
        #expect(try harness.statusByte(write) == BlockStatus.ioError)
        #expect(try harness.statusByte(read) == BlockStatus.ok)
        #expect(try harness.memory.readBytes(at: 0x50000, count: 512).allSatisfy { $0 == 1 })
        #expect(disk.contents() == before)
    }

    @Test func missingFileDirectoryAndLongIDAreClearErrors() throws {
        #expect(throws: VirtioBlockError.fileNotFound(path: "/nonexistent/disk.img")) {
            try VirtioBlock(path: "/nonexistent/disk.img", readOnly: false, id: "x")
        }
        #expect(throws: VirtioBlockError.isDirectory(path: "/tmp")) { try VirtioBlock(path: "/tmp", readOnly: true, id: "x") }
        let disk = try TemporaryDisk(sectors: 1)
        #expect(throws: VirtioBlockError.idTooLong("123456789012345678901")) {
            try VirtioBlock(path: disk.path, readOnly: false, id: "123456789012345678901")
        }
        #expect(throws: VirtioBlockError.unsupportedFileType(path: "/dev/null")) { try VirtioBlock(path: "/dev/null", readOnly: true, id: "x") }
    }

    @Test func fileThatCannotBeOpenedReadWriteSaysSo() throws {
        let disk = try TemporaryDisk(sectors: 1)
        chmod(disk.path, 0o444)
        // Root ignores file modes; sysfs attributes refuse writers even for root.
        let path = access(disk.path, W_OK) == 0 ? "/sys/kernel/notes" : disk.path
        #expect(throws: VirtioBlockError.notWritable(path: path, errno: EACCES)) { try VirtioBlock(path: path, readOnly: false, id: "x") }
        let readOnly = try VirtioBlock(path: path, readOnly: true, id: "x")
        #expect(readOnly.readOnly)
        #expect("\(VirtioBlockError.notWritable(path: path, errno: EACCES))".contains("read-only"))
    }
}

/// Firecracker's `cache_type`: both kinds offer FLUSH and answer it, and the kind survives a
/// snapshot; states saved before it existed restore as writeback, which they always were.
@Suite struct BlockCacheTypeTests {
    @Test(arguments: VirtioBlock.CacheType.allCases)
    func flushIsOfferedAndAnsweredAndTheTypeIsSaved(cacheType: VirtioBlock.CacheType) throws {
        let disk = try TemporaryDisk(sectors: 8)
        let block = try VirtioBlock(path: disk.path, readOnly: false, id: "c", options: .init(cacheType: cacheType))
        #expect(block.deviceFeatures & VirtioBlock.featureFlush != 0)
        let state = block.saveState()
        #expect(state.cacheType == cacheType)
        let decoded = try JSONDecoder().decode(VirtioBlock.State.self, from: JSONEncoder().encode(state))
        #expect(decoded.cacheType == cacheType)
    }

    @Test func aStateWithoutACacheTypeRestoresAsWriteback() throws {
        let disk = try TemporaryDisk(sectors: 8)
        let old = #"{"path": "\#(disk.path)", "readOnly": false, "id": "old"}"#
        let state = try JSONDecoder().decode(VirtioBlock.State.self, from: Data(old.utf8))
        #expect(state.cacheType == nil)
        #expect(try VirtioBlock(restoring: state).cacheType == .writeback)
    }
}
