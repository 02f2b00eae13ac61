import CEvents
import Dispatch
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// What a device's thread (`DeviceWorker`) waits on: jobs posted to it, and the descriptors its
/// events arrive on (its queues' ioeventfds, a tap, vsock's sockets), all in one epoll set.
///
/// A guest's kick or a tap frame is then served on the device's thread as soon as that thread
/// wakes. Before, each went through a libdispatch source first, which woke Dispatch's manager
/// thread and one of its workers before the device's thread: three context switches where one
/// does, on the path every packet and every disk request takes.
///
/// Several watches may share a descriptor (vsock waits to read and to write the same socket);
/// epoll takes a descriptor once, so the loop registers the union of what the armed watches
/// want, and nothing at all while none is armed: a hung-up socket nobody waits on would
/// otherwise report EPOLLHUP on every wait.
public final class DeviceEventLoop: Sendable {
    typealias Job = @Sendable () -> Void

    private struct Interest {
        let events: UInt32
        /// Disarmed by each event it receives (`ReadinessWatch`) rather than kept armed (an
        /// ioeventfd, whose handler reads the counter back to zero).
        let oneShot: Bool
        var armed: Bool
        let handler: @Sendable () -> Void
    }

    private struct State {
        /// `nil` tells the thread to end.
        var jobs: [Job?] = []
        var ended = false
        var interests: [Int32: [UInt64: Interest]] = [:]
        /// What epoll has for each descriptor it watches.
        var registered: [Int32: UInt32] = [:]
        var nextToken: UInt64 = 1
    }

    private let epoll: Int32
    private let wake: Int32
    private let state = Mutex(State())
    /// The thread's pthread_t, set before the first job runs.
    private let thread = Atomic<UInt>(0)
    /// Signalled when the thread has taken the end marker, with every job it ran released.
    let finished = DispatchSemaphore(value: 0)

    init() throws(VirtioError) {
        epoll = cevents_epoll_create()
        guard epoll >= 0 else { throw .invalidDevice("cannot create an epoll set (errno \(errno))") }
        wake = cevents_eventfd()
        guard wake >= 0 else {
            let error = errno
            close(epoll)
            throw .invalidDevice("cannot create an eventfd (errno \(error))")
        }
        guard cevents_control(epoll, CEVENTS_ADD, wake, CEVENTS_IN) == 0 else {
            let error = errno
            close(wake)
            close(epoll)
            throw .invalidDevice("cannot watch an eventfd (errno \(error))")
        }
    }

    /// Watches, and so the descriptors' registrations, keep the loop alive; the set and the
    /// eventfd go with the last of them.
    deinit {
        close(wake)
        close(epoll)
    }

    /// True on the loop's own thread.
    var isCurrent: Bool {
        thread.load(ordering: .acquiring) == pthread_self()
    }

    // MARK: - Jobs

    func post(_ job: Job?) {
        state.withLock { $0.jobs.append(job) }
        // The thread runs every job queued before it waits again, so it need not wake itself.
        guard !isCurrent else { return }
        wakeThread()
    }

    private func wakeThread() {
        var one: UInt64 = 1
        _ = write(wake, &one, MemoryLayout<UInt64>.size)
    }

    /// Closes `descriptor` once the handler that may be running now has returned, so that
    /// handler never reads a closed descriptor (or a new one under the same number).
    func closeAfterCurrentWork(_ descriptor: Int32) {
        let closeNow = state.withLock { state in
            guard !state.ended else { return true }
            state.jobs.append { close(descriptor) }
            return false
        }
        if closeNow {
            close(descriptor)
        } else if !isCurrent {
            wakeThread()
        }
    }

    /// The thread's body: jobs first, then whatever epoll reports, until the end marker.
    func run() {
        thread.store(pthread_self(), ordering: .releasing)
        var descriptors = [Int32](repeating: 0, count: 32)
        var events = [UInt32](repeating: 0, count: 32)
        while runQueuedJobs() {
            let count = cevents_wait(epoll, &descriptors, &events, Int32(descriptors.count), -1)
            guard count >= 0 else {
                // EINTR is the only failure a valid set gives; anything else would repeat at
                // once, so it is not allowed to spin.
                if errno != EINTR { usleep(1000) }
                continue
            }
            for index in 0..<Int(count) {
                if descriptors[index] == wake {
                    var counter: UInt64 = 0
                    _ = read(wake, &counter, MemoryLayout<UInt64>.size)
                } else {
                    dispatch(descriptor: descriptors[index], events: events[index])
                }
            }
        }
        finished.signal()
    }

    /// Runs the jobs queued so far, in order; false once the end marker is among them. In a
    /// function of its own so that the jobs and what they captured are released before the
    /// loop waits again (and before `finished` says the thread is done).
    private func runQueuedJobs() -> Bool {
        while true {
            let batch = state.withLock { state -> [Job?] in
                defer { state.jobs.removeAll(keepingCapacity: true) }
                return state.jobs
            }
            if batch.isEmpty { return true }
            for (position, job) in batch.enumerated() {
                guard let job else {
                    // Closes queued behind the marker still happen, from this batch and later.
                    let rest = state.withLock { state -> [Job?] in
                        state.ended = true
                        defer { state.jobs.removeAll() }
                        return state.jobs
                    }
                    for late in batch[(position + 1)...] + rest { late?() }
                    return false
                }
                job()
            }
        }
    }

    private func dispatch(descriptor: Int32, events: UInt32) {
        let handlers = state.withLock { state -> [@Sendable () -> Void] in
            guard var interests = state.interests[descriptor] else { return [] }
            let failed = events & (CEVENTS_ERR | CEVENTS_HUP) != 0
            var fired: [@Sendable () -> Void] = []
            for (token, interest) in interests where interest.armed && (failed || interest.events & events != 0) {
                fired.append(interest.handler)
                if interest.oneShot { interests[token]?.armed = false }
            }
            state.interests[descriptor] = interests
            Self.updateRegistration(of: descriptor, in: &state, epoll: epoll)
            return fired
        }
        for handler in handlers { handler() }
    }

    // MARK: - Watches

    /// Starts calling `handler` on the loop's thread whenever `descriptor` has one of `events`
    /// (EPOLLIN, EPOLLOUT), or an error or hang-up. Returns the token, or nil when epoll
    /// refuses the descriptor.
    func addInterest(descriptor: Int32, events: UInt32, oneShot: Bool, handler: @escaping @Sendable () -> Void) -> UInt64? {
        state.withLock { state in
            let token = state.nextToken
            state.nextToken += 1
            state.interests[descriptor, default: [:]][token] = Interest(events: events, oneShot: oneShot, armed: true, handler: handler)
            guard Self.updateRegistration(of: descriptor, in: &state, epoll: epoll) else {
                state.interests[descriptor]?[token] = nil
                if state.interests[descriptor]?.isEmpty == true { state.interests[descriptor] = nil }
                return nil
            }
            return token
        }
    }

    /// Arms or disarms one watch; false when epoll refused the descriptor.
    @discardableResult
    func setArmed(_ armed: Bool, token: UInt64, descriptor: Int32) -> Bool {
        state.withLock { state in
            guard state.interests[descriptor]?[token] != nil else { return true }
            state.interests[descriptor]?[token]?.armed = armed
            return Self.updateRegistration(of: descriptor, in: &state, epoll: epoll)
        }
    }

    /// Stops a watch. Its handler may still be running, or about to run, on the loop's thread
    /// if the event came in before this call; it never starts after a later job.
    func removeInterest(token: UInt64, descriptor: Int32) {
        state.withLock { state in
            state.interests[descriptor]?[token] = nil
            if state.interests[descriptor]?.isEmpty == true { state.interests[descriptor] = nil }
            Self.updateRegistration(of: descriptor, in: &state, epoll: epoll)
        }
    }

    /// Makes epoll's registration of `descriptor` the union of its armed watches, and removes it
    /// when none is armed. False when epoll refused the descriptor.
    @discardableResult
    private static func updateRegistration(of descriptor: Int32, in state: inout State, epoll: Int32) -> Bool {
        let wanted = state.interests[descriptor]?.values.reduce(UInt32(0)) { $1.armed ? $0 | $1.events : $0 } ?? 0
        let current = state.registered[descriptor]
        guard wanted != 0 else {
            if current != nil { _ = cevents_control(epoll, CEVENTS_DEL, descriptor, 0) }
            state.registered[descriptor] = nil
            return true
        }
        guard current != wanted else { return true }
        var result = cevents_control(epoll, current == nil ? CEVENTS_ADD : CEVENTS_MOD, descriptor, wanted)
        // The owner closed the descriptor and another took its number: epoll forgot the old one.
        if result != 0 && errno == ENOENT { result = cevents_control(epoll, CEVENTS_ADD, descriptor, wanted) }
        // Registered before under a number since closed and reused by another watch's owner.
        if result != 0 && errno == EEXIST { result = cevents_control(epoll, CEVENTS_MOD, descriptor, wanted) }
        guard result == 0 else {
            state.registered[descriptor] = nil
            return false
        }
        state.registered[descriptor] = wanted
        return true
    }
}
