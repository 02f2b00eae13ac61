import Dispatch
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// One virtio device's own thread: runs the device's queue work in order, and nothing else.
///
/// A Dispatch serial queue would do the ordering, but its passes run on libdispatch's shared
/// workers, so the device-io seccomp list could not be installed there without reaching
/// unrelated work. This thread narrows itself to that list when it starts and keeps it for its
/// whole life, as vCPU threads do. It ends once its owner releases it and the work queued
/// before that has run.
final class DeviceWorker: Sendable {
    private typealias Job = @Sendable () -> Void

    /// Shared by the owner and the thread, so the thread can outlive the owner's last
    /// reference long enough to finish what was queued.
    private final class Inbox: Sendable {
        /// `nil` tells the thread to end.
        let jobs = Mutex<[Job?]>([])
        let waiting = DispatchSemaphore(value: 0)
        /// Signalled when the thread has taken the end marker, with every job it ran released.
        let finished = DispatchSemaphore(value: 0)
        /// The worker's pthread_t, set before the first job runs.
        let thread = Atomic<UInt>(0)

        func post(_ job: Job?) {
            jobs.withLock { $0.append(job) }
            waiting.signal()
        }

        func run() {
            thread.store(pthread_self(), ordering: .releasing)
            while runNextJob() {}
            finished.signal()
        }

        /// One job, in its own function so that the job and what it captured are released
        /// before the loop waits again (and before `finished` says the thread is done).
        private func runNextJob() -> Bool {
            waiting.wait()
            // Each post signals once, so there is a job (or the end marker) to take.
            guard let job = jobs.withLock({ $0.removeFirst() }) else { return false }
            job()
            return true
        }
    }

    private let inbox = Inbox()

    /// Starts the thread. Fails only when the process cannot create threads.
    init(name: String) throws(VirtioError) {
        try DeviceThread.start(name: name, what: "I/O thread") { [inbox] in inbox.run() }
    }

    /// Waits for the jobs queued before to finish, so a released device leaves nothing running
    /// behind it. When the last reference goes on the worker itself (a job held it), the
    /// thread ends once that job returns.
    deinit {
        inbox.post(nil)
        if !isCurrent { inbox.finished.wait() }
    }

    /// True on the worker's own thread.
    var isCurrent: Bool {
        inbox.thread.load(ordering: .acquiring) == pthread_self()
    }

    /// Queues `work` behind everything queued before it and returns at once.
    func async(_ work: @escaping @Sendable () -> Void) {
        inbox.post(work)
    }

    /// Runs `work` on the worker thread, after everything queued before it, and waits for it.
    /// For device calls a vCPU triggers that must run under the device's own filter: a reset
    /// written by the guest clears the tap's offloads with an ioctl, and closes vsock's
    /// sockets, neither of which the vCPU list allows.
    func runAndWait(_ work: () -> Void) {
        if isCurrent { return work() }
        withoutActuallyEscaping(work) { work in
            let handoff = Handoff(work)
            inbox.post {
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
        inbox.post {
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
