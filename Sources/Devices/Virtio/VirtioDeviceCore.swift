import GuestMemory
import Synchronization

/// What every virtio transport shares: the driver-visible registers and their state
/// machine, the live queues, and the device's serial I/O queue.
///
/// A transport (virtio-pci today, virtio-mmio later) only maps its register layout onto
/// `VirtioRegisters`, passes the effect of each write here, and delivers interrupts through
/// the `VirtioInterrupt` it was built with. Register accesses arrive on vCPU threads and only
/// touch registers under a lock. Queue work never runs there: a notification (an ioeventfd
/// the device's thread waits on, or a register write) is served on the device's own thread
/// (`DeviceWorker`), where the device consumes chains. A malformed ring or chain
/// is reported through the error handler, the device sets DEVICE_NEEDS_RESET and raises a
/// configuration interrupt, and that queue stays dead until the driver resets the device.
public final class VirtioDeviceCore: Sendable {
    /// Registers plus the runtime state of the queues; the transport saves its own parts
    /// (virtio-pci: configuration space and MSI-X) and the device model its own.
    public struct State: Codable, Sendable, Equatable {
        public var registers: VirtioRegisters
        /// Runtime indices of each live queue (nil before DRIVER_OK or for disabled queues).
        public var queues: [Virtqueue.State?]
        /// Queues stopped after a malformed ring or chain.
        public var failedQueues: [Bool]
    }

    private struct IOState {
        var queues: [Virtqueue?]
        var failed: [Bool]
    }

    public let device: any VirtioDevice
    public let memory: GuestMemory
    /// Everything offered: the device's bits plus VERSION_1 and EVENT_IDX.
    public let offeredFeatures: UInt64
    public let queueMaxSizes: [UInt16]
    public var queueCount: Int { queueMaxSizes.count }
    let limits: VirtioRegisters.Limits

    private let interrupt: any VirtioInterrupt
    private let reporter: ErrorReportLimiter
    /// Bumped by every reset and restore; an activation queued before one is stale.
    private let resetEpoch = Atomic<UInt64>(0)
    /// Set while the machine is paused or snapshotting: host-side events must not reach guest
    /// RAM then. Read on the worker, so setting it and then draining leaves no request behind.
    private let externalRequestsHeld = Atomic<Bool>(false)
    /// Internal for tests, which look at the thread.
    let worker: DeviceWorker
    private let registers: Mutex<VirtioRegisters>
    /// Locked on the worker (or while `worker.sync` holds it), and by a device's I/O engine
    /// thread for the moment it adds finished requests to a used ring.
    private let io: Mutex<IOState>
    /// Per queue: a pass is queued on the worker and has not started yet. Kicks that arrive
    /// meanwhile are served by that pass, so a guest kicking in a loop queues at most one
    /// block of work per queue, however slow the device.
    private let passScheduled: Mutex<[Bool]>

    /// - Parameters:
    ///   - maxQueues: how many queues the transport can address.
    ///   - vectorCount: MSI-X vectors the transport has (0 for none).
    ///   - errorHandler: receives one line per rejected chain or ring, e.g.
    ///     "virtio-blk: rejected descriptor chain: loop".
    init(
        device: any VirtioDevice, memory: GuestMemory, maxQueues: Int, vectorCount: Int, interrupt: any VirtioInterrupt,
        errorHandler: @escaping @Sendable (String) -> Void
    ) throws(VirtioError) {
        let sizes = device.queueMaxSizes
        guard !sizes.isEmpty, sizes.count <= maxQueues else { throw .invalidDevice("\(sizes.count) queues") }
        guard sizes.allSatisfy({ $0 != 0 && $0 & ($0 - 1) == 0 && $0 <= 32768 }) else { throw .invalidDevice("queue sizes must be powers of two up to 32768") }
        self.device = device
        self.memory = memory
        self.interrupt = interrupt
        queueMaxSizes = sizes
        offeredFeatures = device.deviceFeatures | VirtioFeature.version1 | VirtioFeature.ringEventIndex
        limits = .init(offeredFeatures: offeredFeatures, queueMaxSizes: sizes, vectorCount: vectorCount)
        reporter = ErrorReportLimiter(prefix: device.name, handler: errorHandler)
        registers = Mutex(VirtioRegisters(queueMaxSizes: sizes))
        io = Mutex(IOState(queues: Array(repeating: nil, count: sizes.count), failed: Array(repeating: false, count: sizes.count)))
        passScheduled = Mutex(Array(repeating: false, count: sizes.count))
        worker = try DeviceWorker(name: device.name)
        device.connect(
            VirtioQueueTrigger(
                { [weak self] index in self?.processFromOutside(index) ?? false },
                completion: { [weak self] index, body in self?.completeFromOutside(index, body) }, loop: worker.loop))
    }

    // MARK: - Register access (vCPU threads)

    public var deviceStatus: UInt8 { registers.withLock { $0.status } }

    func readRegisters<T>(_ body: (VirtioRegisters) -> T) -> T {
        registers.withLock { body($0) }
    }

    /// Reading the interrupt status acknowledges it, as on INTx hardware.
    func takeInterruptStatus() -> UInt8 {
        registers.withLock { registers in
            defer { registers.isr = 0 }
            return registers.isr
        }
    }

    /// Applies a driver's register write and then what it asks for: a reset (synchronous,
    /// so no DMA happens after the driver sees status 0) or an activation (on the I/O queue).
    func writeRegisters(_ change: (inout VirtioRegisters, VirtioRegisters.Limits) -> VirtioRegisters.Effect) {
        // The activation snapshot and epoch are taken with the DRIVER_OK write itself, so
        // a reset racing in from another vCPU can only cancel it, never mix with it.
        let (effect, snapshot, epoch) = registers.withLock { registers in
            let effect = change(&registers, limits)
            return (effect, registers, resetEpoch.load(ordering: .sequentiallyConsistent))
        }
        switch effect {
        case .none: break
        case .reset: reset()
        case .activate: worker.async { self.activate(snapshot, epoch: epoch) }
        }
    }

    // MARK: - Queue work

    /// The driver kicked queue `index`. Returns at once; the work runs on the device's queue.
    public func notifyQueue(_ index: Int) {
        guard index >= 0 && index < queueCount else { return }
        schedulePass(index)
    }

    /// Serves the ioeventfd `eventFD` of queue `index` on the device's thread; nil when epoll
    /// refuses it. The watch owns the eventfd from now on.
    public func watchNotifications(eventFD: Int32, queue index: Int) -> NotificationWatch? {
        NotificationWatch(eventFD: eventFD, loop: worker.loop) { [weak self] in self?.notifyQueue(index) }
    }

    /// Queues one pass over queue `index` unless one is already waiting to start.
    private func schedulePass(_ index: Int) {
        let alreadyScheduled = passScheduled.withLock { scheduled in
            defer { scheduled[index] = true }
            return scheduled[index]
        }
        guard !alreadyScheduled else { return }
        worker.async {
            // Cleared before the pass reads the ring: a kick from now on may need a new pass.
            self.passScheduled.withLock { $0[index] = false }
            self.processQueue(index)
        }
    }

    /// A device's host-side source has work for queue `index` (see `VirtioQueueTrigger`).
    private func processFromOutside(_ index: Int) -> Bool {
        guard index >= 0 && index < queueCount else { return true }
        guard !externalRequestsHeld.load(ordering: .sequentiallyConsistent) else { return false }
        worker.async {
            guard !self.externalRequestsHeld.load(ordering: .sequentiallyConsistent) else { return }
            self.processQueue(index)
        }
        return true
    }

    /// Requests the device finished off its worker reach the used ring here, on the calling
    /// thread (an I/O engine's), under the queues' lock: the worker is not woken for them. Not
    /// held back while paused: a pause waits for them (`drain`) instead.
    private func completeFromOutside(_ index: Int, _ body: @escaping VirtioQueueTrigger.Completion) {
        guard index >= 0 && index < queueCount else { return }
        serveLiveQueue(index) { queue in
            try body(queue)
            return false
        }
    }

    /// Drops host-side requests until `releaseExternalRequests`; call before `drain` when
    /// pausing, so no tap frame or socket data lands in guest RAM while the VM is frozen.
    public func holdExternalRequests() {
        externalRequestsHeld.store(true, ordering: .sequentiallyConsistent)
    }

    /// Lets host-side requests through again; the caller then notifies every queue once, so
    /// work dropped while held is picked up.
    public func releaseExternalRequests() {
        externalRequestsHeld.store(false, ordering: .sequentiallyConsistent)
    }

    /// Waits until all queued device work has finished (before pausing or snapshotting),
    /// including requests the device handed to host I/O and the passes their completions start.
    public func drain() {
        // A pass of the worker may start host I/O, and a completion may schedule another pass:
        // run the worker, wait for the I/O, and go round until no completion came back since.
        var queued = device.asynchronousCompletionsQueued
        while true {
            worker.sync {}
            let now = device.settleAsynchronousWork()
            if now == queued { return }
            queued = now
        }
    }

    /// Status 0: wait for in-flight work so no DMA happens after the driver sees 0, then
    /// clear queues, device state and registers.
    private func reset() {
        // First cancel activations still queued, then wait out in-flight work. The reset runs
        // on the device's thread: the guest's status write arrives on a vCPU thread, whose
        // seccomp list lacks what a device's reset calls (a tap ioctl, closing sockets).
        resetEpoch.add(1, ordering: .sequentiallyConsistent)
        worker.runAndWait {
            io.withLock { io in
                io.queues = Array(repeating: nil, count: queueCount)
                io.failed = Array(repeating: false, count: queueCount)
            }
            device.reset()
        }
        registers.withLock { $0.reset(queueMaxSizes: queueMaxSizes) }
    }

    private func activate(_ registersAtDriverOK: VirtioRegisters, epoch: UInt64) {
        guard resetEpoch.load(ordering: .sequentiallyConsistent) == epoch else { return }
        let eventIndex = registersAtDriverOK.driverFeatures & VirtioFeature.ringEventIndex != 0
        var failures: [String] = []
        io.withLock { io in
            for (index, queueConfiguration) in registersAtDriverOK.queues.enumerated() where queueConfiguration.enabled {
                do {
                    io.queues[index] = try Virtqueue(
                        index: index, configuration: queueConfiguration, maxSize: queueMaxSizes[index], memory: memory, eventIndex: eventIndex)
                } catch {
                    io.failed[index] = true
                    failures.append("queue \(index): \(error)")
                }
            }
        }
        do { try device.activate(features: registersAtDriverOK.driverFeatures) } catch { failures.append("activation failed: \(error)") }
        for failure in failures { fail(failure) }
    }

    private func processQueue(_ index: Int) {
        let more = serveLiveQueue(index) { queue in
            let before = queue.nextAvail
            try device.process(queue: queue)
            return try queue.rearmNotifications() && queue.nextAvail != before
        }
        // Outside the queues' lock: a submission that runs the I/O itself (io_uring reading a
        // RAM-backed file in the system call) would otherwise hold up the engine's thread,
        // which needs the lock to complete earlier requests.
        device.startQueuedWork()
        // Chains left after progress (more arrived while notifications were off, or the pass
        // stopped at a queue's worth): go round again, but through the queue so a guest that
        // keeps posting cannot monopolise this call. Chains left without progress (a receive
        // queue waiting for room for a frame) wait for the driver's next notification.
        if more { schedulePass(index) }
    }

    /// Runs `work` on queue `index` under the queues' lock if that queue is live and working,
    /// then raises its interrupt if the used ring asks for one; an error breaks the queue (it is
    /// reported, and the driver told to reset). Returns what `work` returned, false if it did
    /// not run.
    @discardableResult
    private func serveLiveQueue(_ index: Int, _ work: (Virtqueue) throws -> Bool) -> Bool {
        var failure: String?
        var interrupt = false
        var result = false
        io.withLock { io in
            guard index < io.queues.count, !io.failed[index], let queue = io.queues[index] else { return }
            do {
                result = try work(queue)
                interrupt = try queue.needsInterrupt()
            } catch {
                io.failed[index] = true
                failure = "\(error)"
            }
        }
        if interrupt { raiseQueueInterrupt(index) }
        if let failure { fail(failure) }
        return result
    }

    private func raiseQueueInterrupt(_ index: Int) {
        let vector = registers.withLock { registers -> UInt16 in
            registers.isr |= VirtioISR.queue
            return index < registers.queues.count ? registers.queues[index].vector : MSIXTable.noVector
        }
        interrupt.raise(vector: vector)
    }

    /// The device's configuration space changed (a disk got a new size). A new generation
    /// makes a driver that is reading the space read it again; the configuration interrupt
    /// makes a running driver read it at all. A driver not yet at DRIVER_OK reads it anyway.
    public func signalConfigurationChange() {
        let vector = registers.withLock { registers -> UInt16? in
            registers.configGeneration &+= 1
            guard registers.status & VirtioDeviceStatus.driverOK != 0 else { return nil }
            registers.isr |= VirtioISR.configuration
            return registers.configVector
        }
        if let vector { interrupt.raise(vector: vector) }
    }

    /// Reports a broken ring or request and tells the driver the device needs a reset.
    private func fail(_ message: String) {
        reporter.report(message)
        let vector = registers.withLock { registers -> UInt16 in
            registers.status |= VirtioDeviceStatus.deviceNeedsReset
            registers.isr |= VirtioISR.configuration
            return registers.configVector
        }
        interrupt.raise(vector: vector)
    }

    // MARK: - Snapshot

    /// Waits for queued work, then captures registers and queue state.
    func saveState() -> State {
        worker.sync {
            let (queues, failed) = io.withLock { io in (io.queues.map { $0?.saveState() }, io.failed) }
            return State(registers: registers.withLock { $0 }, queues: queues, failedQueues: failed)
        }
    }

    /// Rebuilds the live device from `state`, checking it like guest input: registers
    /// within limits, and live queues re-validated against guest RAM. `restoreTransport`
    /// puts back the transport's own state once everything here is known to be valid and
    /// before anything is committed, so a refusal from either side leaves the device as it was.
    func restoreState(_ state: State, restoreTransport: () throws -> Void) throws {
        if let problem = state.registers.validate(limits: limits) { throw VirtioError.invalidState(problem) }
        guard state.queues.count == queueCount, state.failedQueues.count == queueCount else {
            throw VirtioError.invalidState("snapshot has \(state.queues.count) queues, device has \(queueCount)")
        }
        let driverOK = state.registers.status & VirtioDeviceStatus.driverOK != 0
        let eventIndex = state.registers.driverFeatures & VirtioFeature.ringEventIndex != 0
        resetEpoch.add(1, ordering: .sequentiallyConsistent)
        try worker.sync {
            try io.withLock { io in
                var queues: [Virtqueue?] = Array(repeating: nil, count: queueCount)
                for index in 0..<queueCount {
                    guard let runtime = state.queues[index] else { continue }
                    let queueConfiguration = state.registers.queues[index]
                    guard driverOK, queueConfiguration.enabled else { throw VirtioError.invalidState("queue \(index) is live but not enabled") }
                    do {
                        let queue = try Virtqueue(
                            index: index, configuration: queueConfiguration, maxSize: queueMaxSizes[index], memory: memory, eventIndex: eventIndex)
                        queue.restoreState(runtime)
                        queues[index] = queue
                    } catch {
                        throw VirtioError.invalidState("queue \(index): \(error)")
                    }
                }
                try restoreTransport()
                io.queues = queues
                io.failed = state.failedQueues
            }
            device.reset()
            registers.withLock { $0 = state.registers }
            if driverOK { try device.activate(features: state.registers.driverFeatures) }
        }
    }
}
