import Dispatch
import Foundation
import Synchronization
import Testing

@testable import Devices

@Suite struct DeviceWorkerTests {
    @Test func jobsRunInOrderOnTheWorkersOwnThread() throws {
        let worker = try DeviceWorker(name: "test")
        let seen = Mutex<[Int]>([])
        let onWorker = Mutex<[Bool]>([])
        for number in 0..<1000 {
            worker.async {
                seen.withLock { $0.append(number) }
                onWorker.withLock { $0.append(worker.isCurrent) }
            }
        }
        worker.sync {}
        #expect(seen.withLock { $0 } == Array(0..<1000))
        #expect(onWorker.withLock { $0.allSatisfy { $0 } })
        #expect(!worker.isCurrent)
    }

    /// `sync` runs on the caller's thread, after what was queued before it and never alongside
    /// a job: a job queued behind it starts only once it has returned.
    @Test func syncRunsOnTheCallerAfterEarlierJobsAndBeforeLaterOnes() throws {
        let worker = try DeviceWorker(name: "test")
        let log = Mutex<[String]>([])
        worker.async {
            Thread.sleep(forTimeInterval: 0.05)
            log.withLock { $0.append("earlier") }
        }
        let caller = pthread_self()
        let ranOnCaller = worker.sync {
            DispatchQueue.global().async { worker.async { log.withLock { $0.append("later") } } }
            Thread.sleep(forTimeInterval: 0.05)
            log.withLock { $0.append("sync") }
            return pthread_equal(pthread_self(), caller) != 0
        }
        worker.sync {}
        // The later job may have been queued after the final sync; wait for it if so.
        for _ in 0..<1000 where log.withLock({ $0.count }) < 3 { Thread.sleep(forTimeInterval: 0.01) }
        #expect(ranOnCaller)
        #expect(log.withLock { $0 } == ["earlier", "sync", "later"])
    }

    /// `runAndWait` is the opposite of `sync`: the work runs on the worker thread, under its
    /// filter, and the caller waits for it (a guest's reset arriving on a vCPU).
    @Test func runAndWaitRunsOnTheWorkerAfterEarlierJobs() throws {
        let worker = try DeviceWorker(name: "test")
        let log = Mutex<[String]>([])
        worker.async {
            Thread.sleep(forTimeInterval: 0.05)
            log.withLock { $0.append("earlier") }
        }
        var ranOnWorker = false
        worker.runAndWait {
            ranOnWorker = worker.isCurrent
            log.withLock { $0.append("reset") }
        }
        #expect(ranOnWorker)
        #expect(log.withLock { $0 } == ["earlier", "reset"])
        var nested = false
        worker.runAndWait { worker.runAndWait { nested = worker.isCurrent } }
        #expect(nested, "a nested call runs at once instead of waiting for itself")
    }

    @Test func syncFromTheWorkerItselfDoesNotDeadlock() throws {
        let worker = try DeviceWorker(name: "test")
        let done = DispatchSemaphore(value: 0)
        worker.async {
            worker.sync { _ = done.signal() }
        }
        #expect(done.wait(timeout: .now() + 5) == .success)
    }

    /// Releasing a worker waits for what was queued: nothing of a released device runs later.
    @Test func releasingAWorkerWaitsForItsQueuedJobs() throws {
        let done = Mutex(false)
        do {
            let worker = try DeviceWorker(name: "test")
            worker.async {
                Thread.sleep(forTimeInterval: 0.1)
                done.withLock { $0 = true }
            }
        }
        #expect(done.withLock { $0 })
    }

    /// A device's thread ends with the device: a VMM that builds and drops devices (tests,
    /// fuzzing, a failed restore) does not collect threads. Watched by thread id, since tests
    /// running alongside start and end threads of their own.
    @Test func theThreadEndsOnceTheWorkerIsReleased() throws {
        let threadIDs = Mutex<[String]>([])
        do {
            let workers = try (0..<20).map { _ in try DeviceWorker(name: "test") }
            for worker in workers {
                worker.async { threadIDs.withLock { $0.append((try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/thread-self")) ?? "?") } }
                worker.sync {}
            }
        }
        let ids = threadIDs.withLock { $0 }
        #expect(Set(ids).count == 20 && !ids.contains("?"), "\(ids)")
        let alive = { ids.filter { FileManager.default.fileExists(atPath: "/proc/\($0)") } }
        for _ in 0..<1000 where !alive().isEmpty { Thread.sleep(forTimeInterval: 0.01) }
        #expect(alive().isEmpty, "threads still running: \(alive())")
    }
}
