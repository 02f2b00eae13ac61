// libFuzzer target: a guest's virtqueue plus virtio-blk requests. The input becomes guest RAM
// (descriptor table, available ring, request headers and buffers) and the queue's settings;
// the device then consumes whatever chains that describes. Anything but a thrown error is a bug.
import Devices
import Foundation
import GuestMemory
import SwiftletCore
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

private let memory = try! GuestMemory(layout: [AddressRange(start: 0, length: 0x4_0000)!])
private let diskPath: String = {
    let path = NSTemporaryDirectory() + "swiftlet-fuzz-disk-\(getpid()).img"
    _ = FileManager.default.createFile(atPath: path, contents: Data(count: 64 * 512))
    return path
}()
private let disk = try! VirtioBlock(path: diskPath, readOnly: false, id: "fuzz")

// The async engine (io_uring) on a disk of its own (each image has one writer). Its completions
// come back through the trigger; the target runs them on its own thread, as the core would on
// the device's worker, so submission and completion both see the fuzzed chains.
private let asyncDiskPath: String = {
    let path = NSTemporaryDirectory() + "swiftlet-fuzz-disk-async-\(getpid()).img"
    _ = FileManager.default.createFile(atPath: path, contents: Data(count: 64 * 512))
    return path
}()
private let finishedRequests = Mutex<[VirtioQueueTrigger.Completion]>([])
private let asyncDisk: VirtioBlock = {
    let device = try! VirtioBlock(path: asyncDiskPath, readOnly: false, id: "fuzz_async", options: .init(ioEngine: .async))
    device.connect(VirtioQueueTrigger({ _ in }, completion: { _, body in finishedRequests.withLock { $0.append(body) } }))
    return device
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzVirtqueueBlock(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let input = [UInt8](UnsafeBufferPointer(start: data, count: size))
    guard input.count >= 8 else { return 0 }
    // Header: queue size exponent, event index flag, then the ring addresses' low bits.
    var configuration = VirtqueueConfiguration(size: UInt16(1) << (input[0] % 9))
    configuration.enabled = true
    configuration.descriptorTable = UInt64((input.loadLittleEndian(UInt16.self, at: 2) ?? 0)) << 4
    configuration.availRing = UInt64((input.loadLittleEndian(UInt16.self, at: 4) ?? 0)) << 1
    configuration.usedRing = UInt64((input.loadLittleEndian(UInt16.self, at: 6) ?? 0)) << 2
    // The rest is guest RAM from 0: rings, headers and buffers all live in it.
    let ram = input.dropFirst(8).prefix(0x4_0000)
    try? memory.write(bytes: Array(ram), at: 0)
    guard let queue = try? Virtqueue(index: 0, configuration: configuration, maxSize: 256, memory: memory, eventIndex: input[1] & 1 != 0) else {
        return 0
    }
    // Input byte 1, bit 1: the async engine instead of the sync one.
    let device = input[1] & 2 != 0 ? asyncDisk : disk
    device.reset()
    try? device.activate(features: VirtioBlock.featureFlush)
    passes: for _ in 0..<4 {
        let processed: Void? = try? device.process(queue: queue)
        // As VirtioDeviceCore does after every pass: what the pass queued goes to the engine only
        // here, and settling would wait for it forever otherwise.
        device.startQueuedWork()
        guard processed != nil else { break }
        _ = device.settleAsynchronousWork()
        for body in finishedRequests.withLock({ bodies in defer { bodies = [] }; return bodies }) {
            do { try body(queue) } catch { break passes }
        }
        _ = try? queue.needsInterrupt()
    }
    // The engine may still be writing into guest RAM, which the next input overwrites.
    device.reset()
    return 0
}

// SwiftPM links an executable's entry as `<module>_main` and aliases `main` to it, so
// libFuzzer's own `main` is never pulled in: this entry hands over to its driver.
@_silgen_name("LLVMFuzzerRunDriver")
private func runFuzzerDriver(
    _ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>, Int) -> CInt) -> CInt

@_cdecl("fuzz_VirtqueueBlock_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    var count = argc
    var arguments: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = argv
    return runFuzzerDriver(&count, &arguments) { fuzzVirtqueueBlock($0, $1) }
}
