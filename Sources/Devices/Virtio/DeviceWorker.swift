import Dispatch

#if canImport(Glibc)
import Glibc
#endif

/// One virtio device's own thread: runs the device's queue work in order, and serves the
/// events of its descriptors (`DeviceEventLoop`), and nothing else.
///
/// A Dispatch serial queue would do the ordering, but its passes run on libdispatch's shared
/// workers, so the device-io seccomp list could not be installed there without reaching
/// unrelated work. This thread narrows itself to that list when it starts and keeps it for its
/// whole life, as vCPU threads do. It ends once its owner releases it and the work queued
/// before that has run.
final class DeviceWorker: Sendable {
    /// Shared by the owner, the thread and every watch, so the thread can outlive the owner's
    /// last reference long enough to finish what was queued.
    let loop: DeviceEventLoop

    /// Starts the thread. Fails only when the process cannot create threads or epoll sets.
    init(name: String) throws(VirtioError) {
        let loop = try DeviceEventLoop()
        try DeviceThread.start(name: name, what: "I/O thread") { loop.run() }
        self.loop = loop
    }

    /// Waits for the jobs queued before to finish, so a released device leaves nothing running
    /// behind it. When the last reference goes on the worker itself (a job held it), the
    /// thread ends once that job returns.
    deinit {
        loop.post(nil)
        if !isCurrent { loop.finished.wait() }
    }

    /// True on the worker's own thread.
    var isCurrent: Bool { loop.isCurrent }

    /// Queues `work` behind everything queued before it and returns at once.
    func async(_ work: @escaping @Sendable () -> Void) {
        loop.post(work)
    }

    /// Runs `work` on the worker thread, after everything queued before it, and waits for it.
    /// For device calls a vCPU triggers that must run under the device's own filter: a reset
    /// written by the guest clears the tap's offloads with an ioctl, and closes vsock's
    /// sockets, neither of which the vCPU list allows.
    func runAndWait(_ work: () -> Void) {
        if isCurrent { return work() }
        withoutActuallyEscaping(work) { work in
            let handoff = Handoff(work)
            loop.post {
                handoff.work?()
                // Dropped before the caller resumes: `work` may not outlive this call, and the
                // worker would otherwise release it only when its loop moves on.
                handoff.work = nil
                handoff.done.signal()
            }
            handoff.done.wait()
        }
    }

    /// Runs `work` on the calling thread once everything queued before has run, with the worker
    /// held meanwhile, so `work` never overlaps a job (what `DispatchQueue.sync` guarantees).
    /// Running it here rather than on the worker keeps the caller's system calls (a restore
    /// opening sockets, say) under the caller's filter.
    func sync<T>(_ work: () throws -> T) rethrows -> T {
        if isCurrent { return try work() }
        let parked = DispatchSemaphore(value: 0)
        let released = DispatchSemaphore(value: 0)
        loop.post {
            parked.signal()
            released.wait()
        }
        parked.wait()
        defer { released.signal() }
        return try work()
    }
}

/// Carries a closure to the worker for `runAndWait`, which waits for it to finish, so the
/// closure is never used concurrently with its owner.
private final class Handoff: @unchecked Sendable {
    var work: (() -> Void)?
    let done = DispatchSemaphore(value: 0)
    init(_ work: @escaping () -> Void) { self.work = work }
}
