#if canImport(Glibc)
import Glibc
#endif
import Dispatch
import Synchronization
import Testing
import GuestMemory
@testable import Devices

/// A device whose first `process` call blocks until released, and which counts the calls:
/// it stands for a disk stuck in a slow write while the guest keeps kicking.
final class StalledDevice: VirtioDevice {
    let name = "virtio-stalled"
    let deviceType: UInt16 = 4
    let deviceFeatures: UInt64 = 0
    let queueMaxSizes: [UInt16] = [16]
    let configSpaceSize = 4
    let calls = Mutex(0)
    let entered = DispatchSemaphore(value: 0)
    let release = DispatchSemaphore(value: 0)

    func readConfig(offset: Int, data: UnsafeMutableRawBufferPointer) { data.fillWithZeros() }
    func writeConfig(offset: Int, data: UnsafeRawBufferPointer) {}
    func activate(features: UInt64) throws {}
    func reset() {}
    func process(queue: Virtqueue) throws {
        let first = calls.withLock { calls in
            calls += 1
            return calls == 1
        }
        if first {
            entered.signal()
            release.wait()
        }
        while let chain = try queue.popChain() { try queue.addUsed(head: chain.head, length: 0) }
    }
}

@Suite struct KickStormTests {
    /// 10,000 kicks while the device is busy leave at most one more pass queued, not 10,000
    /// blocks of Dispatch work.
    @Test func kicksWhileBusyCoalesceIntoOnePendingPass() throws {
        let device = StalledDevice()
        let harness = try VirtioHarness(device: device)
        try harness.start()
        harness.transport.notifyQueue(0)
        #expect(device.entered.wait(timeout: .now() + 10) == .success)
        for _ in 0..<10_000 { harness.transport.notifyQueue(0) }
        device.release.signal()
        harness.transport.drain()
        harness.transport.drain()
        let calls = device.calls.withLock { $0 }
        #expect(calls >= 2, "a kick during processing still gets its pass")
        #expect(calls <= 3)
    }

    /// A kick that arrives after the pending pass started is not lost.
    @Test func aKickAfterProcessingIsServed() throws {
        let device = StalledDevice()
        let harness = try VirtioHarness(device: device)
        try harness.start()
        device.release.signal()
        harness.transport.notifyQueue(0)
        harness.transport.drain()
        harness.transport.notifyQueue(0)
        harness.transport.drain()
        #expect(device.calls.withLock { $0 } == 2)
    }
}

@Suite struct DiskLockTests {
    @Test func aSecondWriterOnTheSameImageIsRefusedClearly() throws {
        let disk = try TemporaryDisk(sectors: 8)
        let first = try VirtioBlock(path: disk.path, readOnly: false, id: "a")
        #expect(throws: VirtioBlockError.self) { _ = try VirtioBlock(path: disk.path, readOnly: false, id: "b") }
        #expect(throws: VirtioBlockError.self) { _ = try VirtioBlock(path: disk.path, readOnly: true, id: "c") }
        do {
            _ = try VirtioBlock(path: disk.path, readOnly: false, id: "b")
        } catch {
            #expect("\(error)".contains("in use"), "\(error)")
        }
        withExtendedLifetime(first) {}
    }

    @Test func readersShareAnImageButKeepWritersOut() throws {
        let disk = try TemporaryDisk(sectors: 8)
        let reader = try VirtioBlock(path: disk.path, readOnly: true, id: "a")
        let otherReader = try VirtioBlock(path: disk.path, readOnly: true, id: "b")
        #expect(throws: VirtioBlockError.self) { _ = try VirtioBlock(path: disk.path, readOnly: false, id: "c") }
        withExtendedLifetime((reader, otherReader)) {}
    }

    @Test func theLockGoesWithTheDevice() throws {
        let disk = try TemporaryDisk(sectors: 8)
        do { _ = try VirtioBlock(path: disk.path, readOnly: false, id: "a") }
        _ = try VirtioBlock(path: disk.path, readOnly: false, id: "b")
    }
}
