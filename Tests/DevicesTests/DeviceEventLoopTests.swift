import Dispatch
import Foundation
import Synchronization
import Testing
import CEvents

@testable import Devices

#if canImport(Glibc)
import Glibc
#endif

/// The device thread's epoll loop: watches fire on that thread, once per armed period, several
/// watches may share a descriptor, and a cancelled or disarmed watch stays quiet.
@Suite struct DeviceEventLoopTests {
    /// A non-blocking socket pair: the test writes one end, watches the other.
    private final class SocketPair {
        let watched: Int32
        let peer: Int32
        init() throws {
            var ends: [Int32] = [-1, -1]
            try #require(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0, &ends) == 0)
            watched = ends[0]
            peer = ends[1]
        }
        deinit {
            close(watched)
            close(peer)
        }
        func send(_ byte: UInt8 = 1) {
            var byte = byte
            _ = write(peer, &byte, 1)
        }
        func drain() {
            var buffer = [UInt8](repeating: 0, count: 64)
            while read(watched, &buffer, buffer.count) > 0 {}
        }
    }

    private final class Counter: Sendable {
        let count = Mutex(0)
        let onWorker = Mutex<[Bool]>([])
        let signal = DispatchSemaphore(value: 0)
        func hit(onWorker: Bool) {
            count.withLock { $0 += 1 }
            self.onWorker.withLock { $0.append(onWorker) }
            signal.signal()
        }
        var value: Int { count.withLock { $0 } }
        func wait() -> Bool { signal.wait(timeout: .now() + 5) == .success }
    }

    @Test func aReadinessWatchFiresOnTheDeviceThreadOncePerArming() throws {
        let worker = try DeviceWorker(name: "test")
        let pair = try SocketPair()
        let counter = Counter()
        let watch = ReadinessWatch(descriptor: pair.watched, loop: worker.loop) { counter.hit(onWorker: worker.isCurrent) }
        pair.send()
        #expect(counter.wait())
        // Still readable, but disarmed: no second event until armed again.
        Thread.sleep(forTimeInterval: 0.05)
        worker.sync {}
        #expect(counter.value == 1)
        watch.arm()
        #expect(counter.wait())
        #expect(counter.value == 2)
        #expect(counter.onWorker.withLock { $0 } == [true, true])
        watch.cancel()
    }

    @Test func aCancelledWatchStaysQuiet() throws {
        let worker = try DeviceWorker(name: "test")
        let pair = try SocketPair()
        let counter = Counter()
        let watch = ReadinessWatch(descriptor: pair.watched, loop: worker.loop) { counter.hit(onWorker: true) }
        watch.cancel()
        watch.arm()
        pair.send()
        Thread.sleep(forTimeInterval: 0.05)
        worker.sync {}
        #expect(counter.value == 0)
    }

    /// vsock waits to read and to write one socket at once; epoll takes a descriptor once.
    @Test func twoWatchesShareOneDescriptor() throws {
        let worker = try DeviceWorker(name: "test")
        let pair = try SocketPair()
        let readable = Counter()
        let writable = Counter()
        let readWatch = ReadinessWatch(descriptor: pair.watched, loop: worker.loop) { readable.hit(onWorker: true) }
        let writeWatch = ReadinessWatch(descriptor: pair.watched, loop: worker.loop, direction: .writable) { writable.hit(onWorker: true) }
        #expect(writable.wait())
        pair.send()
        #expect(readable.wait())
        writeWatch.arm()
        #expect(writable.wait())
        #expect(readable.value == 1 && writable.value == 2)
        readWatch.cancel()
        writeWatch.cancel()
    }

    /// A peer that hung up makes every wait report EPOLLHUP; with no watch armed the loop must
    /// not hear of it, or the device's thread would spin.
    @Test func aHungUpDescriptorNobodyWaitsOnDoesNotWakeTheLoop() throws {
        let worker = try DeviceWorker(name: "test")
        var ends: [Int32] = [-1, -1]
        try #require(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0, &ends) == 0)
        defer { close(ends[0]) }
        let counter = Counter()
        let watch = ReadinessWatch(descriptor: ends[0], loop: worker.loop) { counter.hit(onWorker: true) }
        close(ends[1])
        #expect(counter.wait())
        let before = worker.threadCPUTime
        Thread.sleep(forTimeInterval: 0.3)
        let spent = worker.threadCPUTime - before
        #expect(counter.value == 1)
        #expect(spent < 0.1, "the device thread used \(spent) s of CPU in 0.3 s while nothing was armed")
        watch.cancel()
    }

    @Test func aNotificationWatchReadsTheCountAndHoldsKicksWhileSuspended() throws {
        let worker = try DeviceWorker(name: "test")
        let eventFD = cevents_eventfd()
        try #require(eventFD >= 0)
        let counter = Counter()
        let watch = try #require(NotificationWatch(eventFD: eventFD, loop: worker.loop) { counter.hit(onWorker: worker.isCurrent) })
        func kick() {
            var one: UInt64 = 1
            _ = write(eventFD, &one, 8)
        }
        kick()
        kick()
        #expect(counter.wait())
        watch.setDelivering(false)
        kick()
        Thread.sleep(forTimeInterval: 0.05)
        worker.sync {}
        let whileSuspended = counter.value
        watch.setDelivering(true)
        #expect(counter.wait())
        // Kicks that add up before the thread reads them are served by one pass: never more
        // passes than kicks, and the held one arrives after the resume.
        #expect(whileSuspended >= 1 && whileSuspended <= 2)
        #expect(counter.value <= 3)
        #expect(counter.onWorker.withLock { $0 }.allSatisfy { $0 })
        watch.cancelAndClose()
        worker.sync {}
        #expect(fcntl(eventFD, F_GETFD) == -1, "the eventfd is closed once the watch is cancelled")
    }
}

extension DeviceWorker {
    /// CPU seconds the worker's thread has used, from /proc.
    var threadCPUTime: Double {
        let path = Mutex("")
        runAndWait { path.withLock { $0 = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/thread-self")) ?? "?" } }
        guard let stat = try? String(contentsOfFile: "/proc/\(path.withLock { $0 })/stat", encoding: .utf8),
            let afterName = stat.range(of: ") ")
        else { return .infinity }
        let fields = stat[afterName.upperBound...].split(separator: " ")
        // utime and stime are fields 14 and 15 of stat, 12 and 13 after the name.
        let ticks = (Double(fields[11]) ?? .infinity) + (Double(fields[12]) ?? .infinity)
        return ticks / Double(sysconf(Int32(_SC_CLK_TCK)))
    }
}
