import CKVM
import Testing
@testable import KVM

/// A zeroed `kvm_run` mapping in ordinary memory: exits are written into it the way KVM
/// would, then decoded. No KVM device is needed.
final class SyntheticRun {
    static let mappingSize = 2 * 4096
    /// Where KVM puts port I/O data: the second page (KVM_PIO_PAGE_OFFSET).
    static let ioDataOffset = 4096
    let page: UnsafeMutableRawPointer

    init() {
        page = UnsafeMutableRawPointer.allocate(byteCount: Self.mappingSize, alignment: 4096)
        page.initializeMemory(as: UInt8.self, repeating: 0, count: Self.mappingSize)
    }

    deinit { page.deallocate() }

    var run: UnsafeMutablePointer<kvm_run> { page.assumingMemoryBound(to: kvm_run.self) }

    func decode(mappingSize: Int = SyntheticRun.mappingSize) -> VCPUExit { VCPUExit(run: page, mappingSize: mappingSize) }

    func portIO(write: Bool, port: UInt16, size: UInt8, count: UInt32, dataOffset: UInt64 = UInt64(SyntheticRun.ioDataOffset)) {
        run.pointee.exit_reason = UInt32(KVM_EXIT_IO)
        run.pointee.io.direction = UInt8(write ? KVM_EXIT_IO_OUT : KVM_EXIT_IO_IN)
        run.pointee.io.port = port
        run.pointee.io.size = size
        run.pointee.io.count = count
        run.pointee.io.data_offset = dataOffset
    }

    func mmio(write: Bool, address: UInt64, length: UInt32, data: [UInt8] = []) {
        run.pointee.exit_reason = UInt32(KVM_EXIT_MMIO)
        run.pointee.mmio.is_write = write ? 1 : 0
        run.pointee.mmio.phys_addr = address
        run.pointee.mmio.len = length
        let bytes = ckvm_run_mmio_data(run)!
        for (index, byte) in data.prefix(8).enumerated() { bytes.storeBytes(of: byte, toByteOffset: index, as: UInt8.self) }
    }

    func exit(_ reason: Int32) { run.pointee.exit_reason = UInt32(reason) }
}

@Suite struct VCPUExitDecodingTests {
    let synthetic = SyntheticRun()

    @Test func portOutCarriesPortSizeCountAndTheBytesInKVMRun() throws {
        synthetic.portIO(write: true, port: 0x3F8, size: 1, count: 3)
        let data = synthetic.page + SyntheticRun.ioDataOffset
        for (index, byte) in Array("abc".utf8).enumerated() { data.storeBytes(of: byte, toByteOffset: index, as: UInt8.self) }
        guard case .portIO(let io) = synthetic.decode() else { Issue.record("\(synthetic.decode())"); return }
        #expect(io.direction == .write && io.port == 0x3F8 && io.size == 1 && io.count == 3)
        #expect(io.data.baseAddress == data)
        #expect((0..<3).map { Array(io.element($0)) } == [[0x61], [0x62], [0x63]])
    }

    @Test func portInElementsAreWritableSlicesOfKVMRun() throws {
        synthetic.portIO(write: false, port: 0x71, size: 2, count: 2)
        guard case .portIO(let io) = synthetic.decode() else { Issue.record("\(synthetic.decode())"); return }
        #expect(io.direction == .read)
        io.element(1).storeBytes(of: UInt16(0xBEEF).littleEndian, as: UInt16.self)
        #expect(synthetic.page.load(fromByteOffset: SyntheticRun.ioDataOffset + 2, as: UInt16.self) == UInt16(0xBEEF).littleEndian)
    }

    @Test(arguments: [UInt8(0), 3, 5, 8, 255])
    func portIOWithAnImpossibleSizeIsMalformed(size: UInt8) {
        synthetic.portIO(write: true, port: 0x80, size: size, count: 1)
        guard case .malformed(let reason) = synthetic.decode() else { Issue.record("\(synthetic.decode())"); return }
        #expect(reason.contains("\(size) bytes"))
    }

    @Test func portIOWithNoRepetitionIsMalformed() {
        synthetic.portIO(write: true, port: 0x80, size: 1, count: 0)
        guard case .malformed = synthetic.decode() else { Issue.record("\(synthetic.decode())"); return }
    }

    @Test func portIODataMustStayInsideTheMapping() {
        // Exactly filling the second page is fine; one element more is not.
        synthetic.portIO(write: true, port: 0x80, size: 4, count: 1024)
        guard case .portIO = synthetic.decode() else { Issue.record("\(synthetic.decode())"); return }
        synthetic.portIO(write: true, port: 0x80, size: 4, count: 1025)
        guard case .malformed = synthetic.decode() else { Issue.record("\(synthetic.decode())"); return }
        // A huge count or an offset near 2^64 must not wrap into "inside".
        synthetic.portIO(write: true, port: 0x80, size: 4, count: .max)
        guard case .malformed = synthetic.decode() else { Issue.record("\(synthetic.decode())"); return }
        synthetic.portIO(write: true, port: 0x80, size: 1, count: 1, dataOffset: .max)
        guard case .malformed = synthetic.decode() else { Issue.record("\(synthetic.decode())"); return }
        // The mapping size bounds the check, not a fixed page count.
        synthetic.portIO(write: true, port: 0x80, size: 1, count: 1)
        guard case .malformed = synthetic.decode(mappingSize: SyntheticRun.ioDataOffset) else { Issue.record("a 4 KiB mapping was overrun"); return }
    }

    @Test func mmioWriteAndReadPointAtTheDataField() throws {
        synthetic.mmio(write: true, address: 0xC000_1000, length: 4, data: [1, 2, 3, 4])
        guard case .mmio(let write) = synthetic.decode() else { Issue.record("\(synthetic.decode())"); return }
        #expect(write.isWrite && write.address == 0xC000_1000 && Array(write.data) == [1, 2, 3, 4])

        synthetic.mmio(write: false, address: 0xFEC0_0000, length: 8)
        guard case .mmio(let read) = synthetic.decode() else { Issue.record("\(synthetic.decode())"); return }
        #expect(!read.isWrite && read.data.count == 8)
        read.data.storeBytes(of: UInt64(0x1122_3344_5566_7788).littleEndian, as: UInt64.self)
        #expect(ckvm_run_mmio_data(synthetic.run).load(as: UInt64.self) == UInt64(0x1122_3344_5566_7788).littleEndian)
    }

    @Test(arguments: [UInt32(0), 9, 16, .max])
    func mmioOfImpossibleLengthIsMalformed(length: UInt32) {
        synthetic.mmio(write: true, address: 0xC000_0000, length: length)
        guard case .malformed(let reason) = synthetic.decode() else { Issue.record("\(synthetic.decode())"); return }
        #expect(reason.contains("MMIO"))
    }

    @Test func simpleExits() {
        synthetic.exit(KVM_EXIT_HLT)
        guard case .halt = synthetic.decode() else { Issue.record("HLT"); return }
        synthetic.exit(KVM_EXIT_SHUTDOWN)
        guard case .shutdown = synthetic.decode() else { Issue.record("SHUTDOWN"); return }
        synthetic.exit(KVM_EXIT_INTR)
        guard case .interrupted = synthetic.decode() else { Issue.record("INTR"); return }
        synthetic.exit(KVM_EXIT_INTERNAL_ERROR)
        synthetic.run.pointee.internal.suberror = 3
        guard case .internalError(suberror: 3) = synthetic.decode() else { Issue.record("INTERNAL_ERROR"); return }
        synthetic.exit(KVM_EXIT_FAIL_ENTRY)
        synthetic.run.pointee.fail_entry.hardware_entry_failure_reason = 0x80000021
        guard case .failedEntry(hardwareReason: 0x80000021) = synthetic.decode() else { Issue.record("FAIL_ENTRY"); return }
        synthetic.exit(12345)
        guard case .unknown(reason: 12345) = synthetic.decode() else { Issue.record("unknown"); return }
    }

    @Test(arguments: [
        (KVM_SYSTEM_EVENT_RESET, VCPUExit.SystemEvent.reset),
        (KVM_SYSTEM_EVENT_SHUTDOWN, .shutdown),
        (KVM_SYSTEM_EVENT_CRASH, .crash),
        (Int32(77), .other(77)),
    ])
    func systemEventTypes(type: Int32, expected: VCPUExit.SystemEvent) {
        synthetic.exit(KVM_EXIT_SYSTEM_EVENT)
        synthetic.run.pointee.system_event.type = UInt32(type)
        guard case .systemEvent(let event) = synthetic.decode() else { Issue.record("\(synthetic.decode())"); return }
        #expect(event == expected)
    }
}
