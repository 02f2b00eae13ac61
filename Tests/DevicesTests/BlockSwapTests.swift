#if canImport(Glibc)
import Glibc
#endif
import Testing
import GuestMemory
@testable import Devices

/// `PATCH /drives`: a running block device gets another image, the driver hears about it
/// through the configuration interrupt, and requests reach the new image.
@Suite struct BlockSwapTests {
    let first: TemporaryDisk
    let second: TemporaryDisk
    let harness: VirtioHarness
    let block: VirtioBlock

    init() throws {
        first = try TemporaryDisk(sectors: 16)
        second = try TemporaryDisk(sectors: 40)
        (harness, block) = try VirtioHarness.blockHarness(disk: first, id: "swap")
        try harness.start()
    }

    private var generation: UInt64 { harness.read(0x15, width: 1) }

    private func readSector(_ sector: UInt64, into address: UInt64, firstDescriptor: UInt16) throws -> UInt8 {
        try harness.memory.fill(0, at: address, count: 512)
        let status = try harness.postRequest(
            type: BlockRequestType.read, sector: sector, data: [DataBuffer(address: address, length: 512, writable: true)], firstDescriptor: firstDescriptor)
        try harness.kick()
        return try harness.statusByte(status)
    }

    @Test func swappedImageShowsItsCapacityAndContentAfterAConfigurationInterrupt() throws {
        // Sector 30 is past the end of the first image.
        #expect(try readSector(30, into: 0x40000, firstDescriptor: 0) == BlockStatus.ioError)
        let generationBefore = generation
        let interruptsBefore = harness.configInterrupts

        #expect(try block.replaceBackingFile(path: second.path) == 40)
        harness.transport.core.signalConfigurationChange()

        #expect(harness.configInterrupts == interruptsBefore + 1)
        #expect(generation != generationBefore)
        #expect(harness.read(VirtioPCILayout.deviceConfiguration, width: 8) == 40)
        #expect(block.path == second.path)
        #expect(try readSector(30, into: 0x40000, firstDescriptor: 4) == BlockStatus.ok)
        #expect(try harness.memory.readBytes(at: 0x40000, count: 512).allSatisfy { $0 == 30 })
        // Writes go to the new image, and the old one is left alone.
        try harness.memory.fill(0x5A, at: 0x50000, count: 512)
        let write = try harness.postRequest(
            type: BlockRequestType.write, sector: 2, data: [DataBuffer(address: 0x50000, length: 512, writable: false)], firstDescriptor: 8)
        try harness.kick()
        #expect(try harness.statusByte(write) == BlockStatus.ok)
        #expect(second.contents()[1024..<1536].allSatisfy { $0 == 0x5A })
        #expect(first.contents()[1024..<1536].allSatisfy { $0 == 2 })
        #expect(harness.errors.isEmpty)
    }

    @Test func theSameImageGrownOnTheHostIsReadAgainDespiteItsLock() throws {
        let descriptor = open(first.path, O_WRONLY | O_APPEND)
        #expect(descriptor >= 0)
        let extra = [UInt8](repeating: 0x77, count: 4 * 512)
        _ = extra.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        close(descriptor)
        #expect(block.capacity == 16)
        // A second open of the image would fail on the first one's exclusive lock.
        #expect(try block.replaceBackingFile(path: first.path) == 20)
        #expect(try readSector(19, into: 0x40000, firstDescriptor: 0) == BlockStatus.ok)
        #expect(try harness.memory.readBytes(at: 0x40000, count: 512).allSatisfy { $0 == 0x77 })
    }

    @Test func aMissingImageIsRefusedAndTheOldOneStays() throws {
        #expect(throws: VirtioBlockError.self) { try block.replaceBackingFile(path: "/nonexistent/swiftlet-disk.img") }
        #expect(block.path == first.path)
        #expect(block.capacity == 16)
        #expect(try readSector(3, into: 0x40000, firstDescriptor: 0) == BlockStatus.ok)
        #expect(try harness.memory.readBytes(at: 0x40000, count: 512).allSatisfy { $0 == 3 })
    }

    @Test func anImageAnotherWriterHoldsIsRefused() throws {
        let other = try VirtioBlock(path: second.path, readOnly: false, id: "other")
        #expect(throws: VirtioBlockError.self) { try block.replaceBackingFile(path: second.path) }
        #expect(block.path == first.path)
        _ = other
    }

    @Test func aDriverNotYetRunningGetsNoInterruptButANewGeneration() throws {
        harness.setStatus(0)
        harness.transport.drain()
        let interruptsBefore = harness.configInterrupts
        let generationBefore = generation
        harness.transport.core.signalConfigurationChange()
        #expect(harness.configInterrupts == interruptsBefore)
        #expect(generation != generationBefore)
    }
}

@Suite struct BlockSwapOverMMIOTests {
    @Test func theConfigurationChangeRaisesTheLineWithItsOwnStatusBit() throws {
        let first = try TemporaryDisk(sectors: 16)
        let second = try TemporaryDisk(sectors: 24)
        let block = try VirtioBlock(path: first.path, readOnly: false, id: "mmio-swap")
        let harness = try VirtioMMIOHarness(device: block)
        try harness.start()
        #expect(harness.line.current == false)
        let generationBefore = harness.read(VirtioMMIORegisters.configGeneration)

        try block.replaceBackingFile(path: second.path)
        harness.transport.core.signalConfigurationChange()

        #expect(harness.line.current == true)
        #expect(harness.read(VirtioMMIORegisters.configGeneration) != generationBefore)
        #expect(harness.read(VirtioMMIORegisters.deviceConfiguration) == 24)
        #expect(harness.acknowledgeInterrupt() == UInt64(VirtioISR.configuration))
        #expect(harness.line.current == false)
    }
}
