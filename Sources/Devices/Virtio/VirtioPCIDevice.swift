import Dispatch
import GuestMemory
import Synchronization

/// A virtio device on the modern (virtio 1.x) PCI transport.
///
/// Register accesses arrive on vCPU threads through the PCI bus; they only touch registers
/// under a lock. Queue work never runs there: a notify write (or `notifyQueue` from an
/// ioeventfd) hops onto the device's own serial `ioQueue`, where the device consumes chains
/// and interrupts go out through the MSI-X table. A malformed ring or chain is reported
/// through `errorHandler`, the device sets DEVICE_NEEDS_RESET and raises a configuration
/// interrupt, and that queue stays dead until the driver resets the device.
public final class VirtioPCIDevice: PCIDevice {
    public struct State: Codable, Sendable, Equatable {
        public var configuration: PCIConfigurationSpace.State
        public var msix: MSIXTable.State
        public var common: VirtioCommonConfiguration
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
    public let configuration: PCIConfigurationSpace
    public let msix: MSIXTable
    public let memory: GuestMemory
    /// Everything offered: the device's bits plus VERSION_1 and EVENT_IDX.
    public let offeredFeatures: UInt64
    public var queueCount: Int { queueMaxSizes.count }

    private let queueMaxSizes: [UInt16]
    private let deviceConfigurationLength: UInt64
    private let msixCapability: Int
    private let configurationAccessCapability: Int
    private let limits: VirtioCommonConfiguration.Limits
    private let errorHandler: @Sendable (String) -> Void
    private let reportLimiter = Mutex(ReportLimiter())
    /// Bumped by every reset and restore; an activation queued before one is stale.
    private let resetEpoch = Atomic<UInt64>(0)
    private let ioQueue: DispatchQueue
    private let registers: Mutex<VirtioCommonConfiguration>
    /// Only locked on `ioQueue` (or while it is held by a synchronous job), so never contended.
    private let io: Mutex<IOState>

    private static let ioQueueKey = DispatchSpecificKey<ObjectIdentifier>()

    /// - Parameters:
    ///   - device: the device model (e.g. `VirtioBlock`).
    ///   - memory: guest RAM the queues live in.
    ///   - msiSender: where MSI-X messages go (KVM_SIGNAL_MSI in the VMM).
    ///   - errorHandler: receives one line per rejected chain or ring, e.g.
    ///     "virtio-blk: rejected descriptor chain: loop".
    public init(device: any VirtioDevice, memory: GuestMemory, msiSender: any MSISender, errorHandler: @escaping @Sendable (String) -> Void = { _ in }) throws {
        let sizes = device.queueMaxSizes
        guard !sizes.isEmpty, sizes.count <= VirtioPCILayout.maxQueues else { throw VirtioError.invalidDevice("\(sizes.count) queues") }
        guard sizes.allSatisfy({ $0 != 0 && $0 & ($0 - 1) == 0 && $0 <= 32768 }) else { throw VirtioError.invalidDevice("queue sizes must be powers of two up to 32768") }
        guard device.configSpaceSize >= 0, UInt64(device.configSpaceSize) <= VirtioPCILayout.deviceConfigurationMaxLength else {
            throw VirtioError.invalidDevice("config space of \(device.configSpaceSize) bytes")
        }
        self.device = device
        self.memory = memory
        self.errorHandler = errorHandler
        queueMaxSizes = sizes
        offeredFeatures = device.deviceFeatures | VirtioFeature.version1 | VirtioFeature.ringEventIndex
        msix = MSIXTable(vectorCount: sizes.count + 1, sender: msiSender)
        limits = .init(offeredFeatures: offeredFeatures, queueMaxSizes: sizes, vectorCount: sizes.count + 1)
        deviceConfigurationLength = UInt64((device.configSpaceSize + 3) & ~3)
        registers = Mutex(VirtioCommonConfiguration(queueMaxSizes: sizes))
        io = Mutex(IOState(queues: Array(repeating: nil, count: sizes.count), failed: Array(repeating: false, count: sizes.count)))
        ioQueue = DispatchQueue(label: "swiftlet.\(device.name)")

        let (classCode, subclass) = Self.pciClass(deviceType: device.deviceType)
        let identity = PCIIdentity(
            vendorID: 0x1AF4, deviceID: 0x1040 &+ device.deviceType, revisionID: 1, classCode: classCode, subclass: subclass,
            subsystemVendorID: 0x1AF4, subsystemID: 0x1040 &+ device.deviceType)
        configuration = try PCIConfigurationSpace(
            identity: identity, bars: [PCIBARDefinition(index: VirtioPCILayout.bar, size: VirtioPCILayout.barSize, kind: .memory64)])
        let msixBody = msix.capability(
            tableBAR: VirtioPCILayout.bar, tableOffset: UInt32(VirtioPCILayout.msixTable),
            pbaBAR: VirtioPCILayout.bar, pbaOffset: UInt32(VirtioPCILayout.msixPBA))
        msixCapability = try configuration.addCapability(id: PCICapabilityID.msix, body: msixBody.body, writableMask: msixBody.writableMask)
        let vendor = PCICapabilityID.vendorSpecific
        try configuration.addCapability(id: vendor, body: VirtioPCILayout.capabilityBody(
            type: .common, offset: VirtioPCILayout.commonConfiguration, length: VirtioCommonConfiguration.length))
        try configuration.addCapability(id: vendor, body: VirtioPCILayout.capabilityBody(
            type: .notify, offset: VirtioPCILayout.notify, length: VirtioPCILayout.notifyMultiplier * UInt64(sizes.count),
            trailer: UInt32(VirtioPCILayout.notifyMultiplier)))
        try configuration.addCapability(id: vendor, body: VirtioPCILayout.capabilityBody(
            type: .isr, offset: VirtioPCILayout.isr, length: VirtioPCILayout.isrLength))
        if deviceConfigurationLength > 0 {
            try configuration.addCapability(id: vendor, body: VirtioPCILayout.capabilityBody(
                type: .device, offset: VirtioPCILayout.deviceConfiguration, length: deviceConfigurationLength))
        }
        configurationAccessCapability = try configuration.addCapability(
            id: vendor, body: VirtioPCILayout.capabilityBody(type: .pciConfiguration, offset: 0, length: 0, trailer: 0),
            writableMask: VirtioPCILayout.ConfigurationAccess.writableMask)
        ioQueue.setSpecific(key: Self.ioQueueKey, value: ObjectIdentifier(self))
    }

    private static func pciClass(deviceType: UInt16) -> (UInt8, UInt8) {
        switch deviceType {
        case 1: return (0x02, 0x00)  // network controller
        case 2: return (0x01, 0x80)  // other mass storage
        default: return (0xFF, 0x00)
        }
    }

    // MARK: - Public entry points for the VMM

    /// Guest-physical address the driver writes to notify queue `index` (register a KVM
    /// ioeventfd there, 2-byte writes). Nil for an unknown queue or an unassigned BAR.
    public func notifyAddress(queue index: Int) -> UInt64? {
        guard index >= 0 && index < queueCount, let base = configuration.barAddress(VirtioPCILayout.bar), base != 0 else { return nil }
        return base &+ VirtioPCILayout.notify &+ VirtioPCILayout.notifyMultiplier * UInt64(index)
    }

    /// The driver kicked queue `index`. Returns at once; the work runs on the device's queue.
    public func notifyQueue(_ index: Int) {
        guard index >= 0 && index < queueCount else { return }
        ioQueue.async { self.processQueue(index) }
    }

    /// Waits until all queued device work has finished (before pausing or snapshotting).
    public func drain() {
        onIOQueue {}
    }

    public var deviceStatus: UInt8 { registers.withLock { $0.status } }

    // MARK: - PCI

    public func readConfig(offset: Int, data: UnsafeMutableRawBufferPointer) {
        let window = configurationAccessCapability + VirtioPCILayout.ConfigurationAccess.data
        if offset < window + 4 && offset + data.count > window, let target = configurationAccessTarget() {
            // Reading pci_cfg_data reads the BAR bytes the capability points at.
            var bytes = [UInt8](repeating: 0, count: 4)
            bytes.withUnsafeMutableBytes { readBAR(VirtioPCILayout.bar, offset: target.offset, data: UnsafeMutableRawBufferPointer(rebasing: $0[0..<target.length])) }
            bytes.withUnsafeBytes { configuration.write(offset: window, data: $0) }
        }
        configuration.read(offset: offset, data: data)
    }

    public func writeConfig(offset: Int, data: UnsafeRawBufferPointer) {
        configuration.write(offset: offset, data: data)
        let control = msixCapability + 2
        if offset <= control + 1 && offset + data.count > control {
            msix.setMessageControl(configuration.readUInt16(at: control))
        }
        let window = configurationAccessCapability + VirtioPCILayout.ConfigurationAccess.data
        if offset < window + 4 && offset + data.count > window, let target = configurationAccessTarget() {
            let value = configuration.readUInt32(at: window)
            withUnsafeBytes(of: value.littleEndian) { writeBAR(VirtioPCILayout.bar, offset: target.offset, data: UnsafeRawBufferPointer(rebasing: $0[0..<target.length])) }
        }
    }

    /// Where the PCI configuration access window points, if the driver set it up sanely:
    /// our BAR, a 1/2/4-byte length, the offset aligned to it and inside the BAR.
    private func configurationAccessTarget() -> (offset: UInt64, length: Int)? {
        let capability = configurationAccessCapability
        let bar = configuration.readUInt16(at: capability + VirtioPCILayout.ConfigurationAccess.bar) & 0xFF
        let offset = UInt64(configuration.readUInt32(at: capability + VirtioPCILayout.ConfigurationAccess.offset))
        let length = configuration.readUInt32(at: capability + VirtioPCILayout.ConfigurationAccess.length)
        guard bar == VirtioPCILayout.bar, [1, 2, 4].contains(length), offset % UInt64(length) == 0,
            offset + UInt64(length) <= VirtioPCILayout.barSize
        else { return nil }
        return (offset, Int(length))
    }

    public func readBAR(_ index: Int, offset: UInt64, data: UnsafeMutableRawBufferPointer) {
        for position in data.indices { data[position] = 0 }
        guard index == VirtioPCILayout.bar, !data.isEmpty, data.count <= 8, offset < VirtioPCILayout.barSize else { return }
        let count = UInt64(data.count)
        if let relative = Self.relative(offset, count, VirtioPCILayout.commonConfiguration, VirtioCommonConfiguration.length) {
            let image = registers.withLock { $0.image(offeredFeatures: offeredFeatures) }
            for position in 0..<data.count { data[position] = image[Int(relative) + position] }
        } else if let relative = Self.relative(offset, count, VirtioPCILayout.isr, VirtioPCILayout.isrLength) {
            // Reading the ISR acknowledges it, as on INTx hardware.
            if relative == 0 { data[0] = registers.withLock { registers in defer { registers.isr = 0 }; return registers.isr } }
        } else if let relative = Self.relative(offset, count, VirtioPCILayout.deviceConfiguration, deviceConfigurationLength) {
            device.readConfig(offset: Int(relative), data: data)
        } else if let relative = Self.relative(offset, count, VirtioPCILayout.msixTable, UInt64(msix.tableSize)) {
            msix.readTable(offset: relative, data: data)
        } else if let relative = Self.relative(offset, count, VirtioPCILayout.msixPBA, UInt64(msix.pbaSize)) {
            msix.readPBA(offset: relative, data: data)
        }
    }

    public func writeBAR(_ index: Int, offset: UInt64, data: UnsafeRawBufferPointer) {
        guard index == VirtioPCILayout.bar, !data.isEmpty, data.count <= 8, offset < VirtioPCILayout.barSize else { return }
        let count = UInt64(data.count)
        if let relative = Self.relative(offset, count, VirtioPCILayout.commonConfiguration, VirtioCommonConfiguration.length) {
            let value = data.littleEndianValue
            // The activation snapshot and epoch are taken with the DRIVER_OK write itself, so
            // a reset racing in from another vCPU can only cancel it, never mix with it.
            let (effect, snapshot, epoch) = registers.withLock { registers in
                let effect = registers.write(offset: relative, width: data.count, value: value, limits: limits)
                return (effect, registers, resetEpoch.load(ordering: .sequentiallyConsistent))
            }
            switch effect {
            case .none: break
            case .reset: reset()
            case .activate: ioQueue.async { self.activate(snapshot, epoch: epoch) }
            }
        } else if let relative = Self.relative(offset, count, VirtioPCILayout.notify, VirtioPCILayout.notifyMultiplier * UInt64(queueCount)) {
            notifyQueue(Int(relative / VirtioPCILayout.notifyMultiplier))
        } else if let relative = Self.relative(offset, count, VirtioPCILayout.deviceConfiguration, deviceConfigurationLength) {
            device.writeConfig(offset: Int(relative), data: data)
        } else if let relative = Self.relative(offset, count, VirtioPCILayout.msixTable, UInt64(msix.tableSize)) {
            msix.writeTable(offset: relative, data: data)
        }
    }

    /// The offset of an access inside `[start, start+length)`, if it lies wholly inside.
    private static func relative(_ offset: UInt64, _ count: UInt64, _ start: UInt64, _ length: UInt64) -> UInt64? {
        guard offset >= start, offset - start < length, count <= length - (offset - start) else { return nil }
        return offset - start
    }

    // MARK: - Lifecycle (runs on ioQueue)

    /// Status 0: wait for in-flight work so no DMA happens after the driver sees 0, then
    /// clear queues, device state and registers.
    private func reset() {
        // First cancel activations still queued, then wait out in-flight work.
        resetEpoch.add(1, ordering: .sequentiallyConsistent)
        onIOQueue {
            io.withLock { io in
                io.queues = Array(repeating: nil, count: queueCount)
                io.failed = Array(repeating: false, count: queueCount)
            }
            device.reset()
        }
        registers.withLock { $0.reset(queueMaxSizes: queueMaxSizes) }
    }

    private func activate(_ registersAtDriverOK: VirtioCommonConfiguration, epoch: UInt64) {
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
        var failure: String?
        var interrupt = false
        var more = false
        io.withLock { io in
            guard index < io.queues.count, !io.failed[index], let queue = io.queues[index] else { return }
            let before = queue.nextAvail
            do {
                try device.process(queue: queue)
                more = try queue.rearmNotifications() && queue.nextAvail != before
                interrupt = try queue.needsInterrupt()
            } catch {
                io.failed[index] = true
                failure = "\(error)"
            }
        }
        if interrupt { raiseQueueInterrupt(index) }
        if let failure { fail(failure) }
        // More work arrived while notifications were off: go round again, but through the
        // queue so a guest that keeps posting cannot monopolise this call.
        if more { ioQueue.async { self.processQueue(index) } }
    }

    private func raiseQueueInterrupt(_ index: Int) {
        let vector = registers.withLock { registers -> UInt16 in
            registers.isr |= VirtioISR.queue
            return index < registers.queues.count ? registers.queues[index].vector : MSIXTable.noVector
        }
        if vector != MSIXTable.noVector { msix.signal(vector: vector) }
    }

    /// Reports a broken ring or request and tells the driver the device needs a reset.
    private func fail(_ message: String) {
        report(message)
        let vector = registers.withLock { registers -> UInt16 in
            registers.status |= VirtioDeviceStatus.deviceNeedsReset
            registers.isr |= VirtioISR.configuration
            return registers.configVector
        }
        if vector != MSIXTable.noVector { msix.signal(vector: vector) }
    }

    /// A guest that loops reset → bad queue → DRIVER_OK must not flood the VMM's log.
    private struct ReportLimiter {
        static let perSecond = 10
        var windowStart = ContinuousClock.now
        var reported = 0
        var suppressed = 0
    }

    private func report(_ message: String) {
        let (emit, suppressedBefore) = reportLimiter.withLock { limiter -> (Bool, Int) in
            var note = 0
            let now = ContinuousClock.now
            if now - limiter.windowStart >= .seconds(1) {
                note = limiter.suppressed
                limiter = ReportLimiter(windowStart: now)
            }
            guard limiter.reported < ReportLimiter.perSecond else {
                limiter.suppressed += 1
                return (false, note)
            }
            limiter.reported += 1
            return (true, note)
        }
        if suppressedBefore > 0 { errorHandler("\(device.name): \(suppressedBefore) more errors were not reported") }
        if emit { errorHandler("\(device.name): \(message)") }
    }

    private func onIOQueue<T>(_ work: () throws -> T) rethrows -> T {
        if DispatchQueue.getSpecific(key: Self.ioQueueKey) == ObjectIdentifier(self) { return try work() }
        return try ioQueue.sync(execute: work)
    }

    // MARK: - Snapshot

    /// Waits for queued work, then captures transport, MSI-X and queue state. The device
    /// model's own state (e.g. `VirtioBlock.State`) is saved separately.
    public func saveState() -> State {
        onIOQueue {
            let (queues, failed) = io.withLock { io in (io.queues.map { $0?.saveState() }, io.failed) }
            return State(
                configuration: configuration.saveState(), msix: msix.saveState(), common: registers.withLock { $0 },
                queues: queues, failedQueues: failed)
        }
    }

    /// Rebuilds the live device from `state`, checking it like guest input: registers
    /// within limits, and live queues re-validated against guest RAM. Restores BAR
    /// addresses, which moves the BAR on the PCI bus it is attached to.
    public func restoreState(_ state: State) throws {
        if let problem = state.common.validate(limits: limits) { throw VirtioError.invalidState(problem) }
        guard state.queues.count == queueCount, state.failedQueues.count == queueCount else {
            throw VirtioError.invalidState("snapshot has \(state.queues.count) queues, device has \(queueCount)")
        }
        guard state.msix.table.count == msix.tableSize, state.msix.pending.count == msix.vectorCount else {
            throw VirtioError.invalidState("MSI-X table size differs")
        }
        let driverOK = state.common.status & VirtioDeviceStatus.driverOK != 0
        let eventIndex = state.common.driverFeatures & VirtioFeature.ringEventIndex != 0
        resetEpoch.add(1, ordering: .sequentiallyConsistent)
        try onIOQueue {
            try io.withLock { io in
                var queues: [Virtqueue?] = Array(repeating: nil, count: queueCount)
                for index in 0..<queueCount {
                    guard let runtime = state.queues[index] else { continue }
                    let queueConfiguration = state.common.queues[index]
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
                try configuration.restoreState(state.configuration)
                try msix.restoreState(state.msix)
                io.queues = queues
                io.failed = state.failedQueues
            }
            device.reset()
            registers.withLock { $0 = state.common }
            msix.setMessageControl(configuration.readUInt16(at: msixCapability + 2))
            if driverOK { try device.activate(features: state.common.driverFeatures) }
        }
    }
}
