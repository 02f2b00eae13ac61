import CKVM
import Devices
import KVM
import Logging
import Synchronization
import Testing
@testable import Machine

/// A bus that records every access and answers reads with a fixed byte pattern.
final class RecordingBus: ExitBus {
    struct Access: Equatable {
        var isWrite: Bool
        var address: UInt64
        var bytes: [UInt8]
    }

    let accesses = Mutex<[Access]>([])
    let readByte: UInt8

    init(readByte: UInt8 = 0x5A) { self.readByte = readByte }

    var recorded: [Access] { accesses.withLock { $0 } }

    func read(address: UInt64, data: UnsafeMutableRawBufferPointer) -> Bool {
        for index in data.indices { data[index] = readByte &+ UInt8(truncatingIfNeeded: index) }
        accesses.withLock { $0.append(Access(isWrite: false, address: address, bytes: Array(data))) }
        return true
    }

    func write(address: UInt64, data: UnsafeRawBufferPointer) -> Bool {
        accesses.withLock { $0.append(Access(isWrite: true, address: address, bytes: Array(data))) }
        return true
    }
}

/// Exit handling driven with synthetic `kvm_run` pages, in the manner of Firecracker's
/// `handle_kvm_exit` tests: no KVM device is involved.
@Suite final class VCPUExitHandlerTests {
    let ports = RecordingBus(readByte: 0x10)
    let mmio = RecordingBus(readByte: 0xA0)
    let page = UnsafeMutableRawPointer.allocate(byteCount: 8192, alignment: 4096)

    init() { page.initializeMemory(as: UInt8.self, repeating: 0, count: 8192) }
    deinit { page.deallocate() }

    private var run: UnsafeMutablePointer<kvm_run> { page.assumingMemoryBound(to: kvm_run.self) }
    private var handler: VCPUExitHandler {
        VCPUExitHandler(vcpuID: 2, portBus: ports, mmioBus: mmio, logger: Logger(label: "test")) { " at rip 0x1234" }
    }

    private func handle() -> ExitAction { handler.handle(VCPUExit(run: page, mappingSize: 8192)) }

    private func portIO(write: Bool, port: UInt16, size: UInt8, count: UInt32, data: [UInt8] = []) {
        run.pointee.exit_reason = UInt32(KVM_EXIT_IO)
        run.pointee.io.direction = UInt8(write ? KVM_EXIT_IO_OUT : KVM_EXIT_IO_IN)
        run.pointee.io.port = port
        run.pointee.io.size = size
        run.pointee.io.count = count
        run.pointee.io.data_offset = 4096
        for (index, byte) in data.enumerated() { page.storeBytes(of: byte, toByteOffset: 4096 + index, as: UInt8.self) }
    }

    private func mmioAccess(write: Bool, address: UInt64, length: UInt32, data: [UInt8] = []) {
        run.pointee.exit_reason = UInt32(KVM_EXIT_MMIO)
        run.pointee.mmio.is_write = write ? 1 : 0
        run.pointee.mmio.phys_addr = address
        run.pointee.mmio.len = length
        for (index, byte) in data.enumerated() { ckvm_run_mmio_data(run).storeBytes(of: byte, toByteOffset: index, as: UInt8.self) }
    }

    @Test func aRepOutsBecomesOneBusWritePerElement() {
        portIO(write: true, port: 0x3F8, size: 1, count: 3, data: Array("hi!".utf8))
        #expect(handle() == .resume)
        #expect(ports.recorded == [
            .init(isWrite: true, address: 0x3F8, bytes: [0x68]),
            .init(isWrite: true, address: 0x3F8, bytes: [0x69]),
            .init(isWrite: true, address: 0x3F8, bytes: [0x21]),
        ])
        #expect(mmio.recorded.isEmpty)
    }

    @Test func aPortReadIsAnsweredInKVMRun() {
        portIO(write: false, port: 0x71, size: 2, count: 2)
        #expect(handle() == .resume)
        #expect(ports.recorded.map(\.address) == [0x71, 0x71])
        // Each element got its own answer, in the data area KVM copies back to the guest.
        #expect((0..<4).map { page.load(fromByteOffset: 4096 + $0, as: UInt8.self) } == [0x10, 0x11, 0x10, 0x11])
    }

    @Test func mmioWritesAndReadsReachTheMMIOBus() {
        mmioAccess(write: true, address: 0xC000_0010, length: 4, data: [1, 2, 3, 4])
        #expect(handle() == .resume)
        mmioAccess(write: false, address: 0xC000_0020, length: 2)
        #expect(handle() == .resume)
        #expect(mmio.recorded == [
            .init(isWrite: true, address: 0xC000_0010, bytes: [1, 2, 3, 4]),
            .init(isWrite: false, address: 0xC000_0020, bytes: [0xA0, 0xA1]),
        ])
        #expect(ckvm_run_mmio_data(run).load(as: UInt16.self) == UInt16(0xA1A0).littleEndian)
        #expect(ports.recorded.isEmpty)
    }

    @Test func malformedAccessesReachNoBusAndDoNotStopTheVM() {
        portIO(write: true, port: 0x80, size: 3, count: 1)
        #expect(handle() == .resume)
        portIO(write: true, port: 0x80, size: 4, count: 2000)  // 8000 bytes from offset 4096
        #expect(handle() == .resume)
        mmioAccess(write: true, address: 0xC000_0000, length: 0)
        #expect(handle() == .resume)
        mmioAccess(write: false, address: 0xC000_0000, length: 9)
        #expect(handle() == .resume)
        #expect(ports.recorded.isEmpty && mmio.recorded.isEmpty)
    }

    @Test func stopReasons() {
        run.pointee.exit_reason = UInt32(KVM_EXIT_HLT)
        #expect(handle() == .stop(.guestPowerOff("vCPU 2 halted")))
        run.pointee.exit_reason = UInt32(KVM_EXIT_SHUTDOWN)
        #expect(handle() == .stop(.guestFault("vCPU 2 shut down: triple fault at rip 0x1234")))
        run.pointee.exit_reason = UInt32(KVM_EXIT_INTERNAL_ERROR)
        run.pointee.internal.suberror = 1
        #expect(handle() == .stop(.vmmFailure("KVM internal error on vCPU 2, suberror 1 at rip 0x1234")))
        run.pointee.exit_reason = UInt32(KVM_EXIT_FAIL_ENTRY)
        run.pointee.fail_entry.hardware_entry_failure_reason = 0x21
        #expect(handle() == .stop(.vmmFailure("vCPU 2 failed to enter the guest (hardware reason 0x21)")))
        run.pointee.exit_reason = 999
        #expect(handle() == .stop(.vmmFailure("vCPU 2: unhandled exit reason 999")))
        run.pointee.exit_reason = UInt32(KVM_EXIT_INTR)
        #expect(handle() == .resume)
    }

    @Test(arguments: [
        (KVM_SYSTEM_EVENT_RESET, StopReason.guestReset("KVM reset event")),
        (KVM_SYSTEM_EVENT_SHUTDOWN, .guestPowerOff("KVM shutdown event")),
        (KVM_SYSTEM_EVENT_CRASH, .guestFault("guest crashed (KVM crash event)")),
        (Int32(42), .vmmFailure("unknown KVM system event 42")),
    ])
    func systemEvents(type: Int32, expected: StopReason) {
        run.pointee.exit_reason = UInt32(KVM_EXIT_SYSTEM_EVENT)
        run.pointee.system_event.type = UInt32(type)
        #expect(handle() == .stop(expected))
        #expect(expected.isClean == (type == KVM_SYSTEM_EVENT_RESET || type == KVM_SYSTEM_EVENT_SHUTDOWN))
    }
}
