/// The registers of the virtio-pci common configuration structure (virtio 1.x §4.1.4.3) and
/// the rules for changing them. Pure state: the transport applies the side effects that a
/// write asks for (reset, activation).
public struct VirtioCommonConfiguration: Codable, Sendable, Equatable {
    /// Size of the structure as mapped in the BAR (0x38 bytes of registers, then the
    /// queue_notify_data / queue_reset words of newer drivers, which read zero here).
    public static let length: UInt64 = 0x40

    public var deviceFeatureSelect: UInt32 = 0
    public var driverFeatureSelect: UInt32 = 0
    public var driverFeatures: UInt64 = 0
    public var configVector: UInt16 = MSIXTable.noVector
    public var status: UInt8 = 0
    public var configGeneration: UInt8 = 0
    public var queueSelect: UInt16 = 0
    public var queues: [VirtqueueConfiguration]
    /// Read-to-clear interrupt status.
    public var isr: UInt8 = 0

    public init(queueMaxSizes: [UInt16]) {
        queues = queueMaxSizes.map { VirtqueueConfiguration(size: $0) }
    }

    /// What the transport must do after a register write.
    enum Effect: Equatable {
        case none
        case reset
        case activate
    }

    /// Limits the registers are checked against; fixed per device.
    struct Limits {
        let offeredFeatures: UInt64
        let queueMaxSizes: [UInt16]
        let vectorCount: Int
    }

    // MARK: - Reads

    /// The structure as the driver sees it, little-endian.
    func image(offeredFeatures: UInt64) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: Int(Self.length))
        func put(_ value: UInt64, _ offset: Int, _ width: Int) {
            for index in 0..<width { bytes[offset + index] = UInt8(truncatingIfNeeded: value >> (8 * UInt64(index))) }
        }
        put(UInt64(deviceFeatureSelect), 0x00, 4)
        let offeredWord: UInt64 = deviceFeatureSelect < 2 ? (offeredFeatures >> (32 * UInt64(deviceFeatureSelect))) & 0xFFFF_FFFF : 0
        put(offeredWord, 0x04, 4)
        put(UInt64(driverFeatureSelect), 0x08, 4)
        let driverWord: UInt64 = driverFeatureSelect < 2 ? (driverFeatures >> (32 * UInt64(driverFeatureSelect))) & 0xFFFF_FFFF : 0
        put(driverWord, 0x0C, 4)
        put(UInt64(configVector), 0x10, 2)
        put(UInt64(queues.count), 0x12, 2)
        put(UInt64(status), 0x14, 1)
        put(UInt64(configGeneration), 0x15, 1)
        put(UInt64(queueSelect), 0x16, 2)
        if let queue = selectedQueue {
            put(UInt64(queue.size), 0x18, 2)
            put(UInt64(queue.vector), 0x1A, 2)
            put(queue.enabled ? 1 : 0, 0x1C, 2)
            put(UInt64(queueSelect), 0x1E, 2)  // queue_notify_off: one notify slot per queue
            put(queue.descriptorTable, 0x20, 8)
            put(queue.availRing, 0x28, 8)
            put(queue.usedRing, 0x30, 8)
        }
        return bytes
    }

    private var selectedQueue: VirtqueueConfiguration? {
        Int(queueSelect) < queues.count ? queues[Int(queueSelect)] : nil
    }

    // MARK: - Writes

    /// Applies a write of `width` bytes at `offset`. Accesses that do not match a register
    /// exactly (and 8-byte accesses to the 64-bit queue addresses) are ignored.
    mutating func write(offset: UInt64, width: Int, value: UInt64, limits: Limits) -> Effect {
        switch (offset, width) {
        case (0x00, 4): deviceFeatureSelect = UInt32(truncatingIfNeeded: value)
        case (0x08, 4): driverFeatureSelect = UInt32(truncatingIfNeeded: value)
        case (0x0C, 4):
            // Features are frozen once the driver has asked for FEATURES_OK.
            guard status & (VirtioDeviceStatus.featuresOK | VirtioDeviceStatus.driverOK) == 0, driverFeatureSelect < 2 else { break }
            let shift = 32 * UInt64(driverFeatureSelect)
            driverFeatures = (driverFeatures & ~(0xFFFF_FFFF << shift)) | ((value & 0xFFFF_FFFF) << shift)
        case (0x10, 2): configVector = validVector(value, limits)
        case (0x14, 1): return writeStatus(UInt8(truncatingIfNeeded: value), limits: limits)
        case (0x16, 2): queueSelect = UInt16(truncatingIfNeeded: value)
        case (0x18, 2): updateSelectedQueue { $0.size = UInt16(truncatingIfNeeded: value) }
        case (0x1A, 2):
            let vector = validVector(value, limits)
            updateSelectedQueue { $0.vector = vector }
        case (0x1C, 2) where value == 1: updateSelectedQueue { $0.enabled = true }
        case (0x20, 4), (0x24, 4), (0x20, 8): updateSelectedQueue { $0.descriptorTable = Self.merge($0.descriptorTable, offset - 0x20, width, value) }
        case (0x28, 4), (0x2C, 4), (0x28, 8): updateSelectedQueue { $0.availRing = Self.merge($0.availRing, offset - 0x28, width, value) }
        case (0x30, 4), (0x34, 4), (0x30, 8): updateSelectedQueue { $0.usedRing = Self.merge($0.usedRing, offset - 0x30, width, value) }
        default: break
        }
        return .none
    }

    /// Vectors the MSI-X table does not have read back as NO_VECTOR, which tells the driver
    /// the assignment failed.
    private func validVector(_ value: UInt64, _ limits: Limits) -> UInt16 {
        value < UInt64(limits.vectorCount) ? UInt16(value) : MSIXTable.noVector
    }

    /// Queue registers change only between FEATURES_OK and DRIVER_OK, and only while the
    /// queue is not yet enabled; an out-of-range queue_select makes them read-only zeros.
    private mutating func updateSelectedQueue(_ change: (inout VirtqueueConfiguration) -> Void) {
        guard status & VirtioDeviceStatus.featuresOK != 0, status & VirtioDeviceStatus.driverOK == 0,
            Int(queueSelect) < queues.count, !queues[Int(queueSelect)].enabled
        else { return }
        change(&queues[Int(queueSelect)])
    }

    private static func merge(_ current: UInt64, _ offset: UInt64, _ width: Int, _ value: UInt64) -> UInt64 {
        if width == 8 { return value }
        let shift = offset * 8
        return (current & ~(0xFFFF_FFFF << shift)) | ((value & 0xFFFF_FFFF) << shift)
    }

    /// The status state machine. Writing 0 resets. Otherwise bits only accumulate: the driver
    /// cannot clear a bit or set DEVICE_NEEDS_RESET, FEATURES_OK sticks only if the
    /// negotiated features are acceptable, DRIVER_OK only after FEATURES_OK.
    private mutating func writeStatus(_ value: UInt8, limits: Limits) -> Effect {
        if value == 0 { return .reset }
        var new = (value & ~VirtioDeviceStatus.deviceNeedsReset) | (status & VirtioDeviceStatus.deviceNeedsReset)
        guard new & status == status else { return .none }
        let added = new & ~status
        if added & VirtioDeviceStatus.featuresOK != 0 && !featuresAcceptable(limits) {
            new &= ~VirtioDeviceStatus.featuresOK
        }
        var effect = Effect.none
        if added & VirtioDeviceStatus.driverOK != 0 {
            if new & VirtioDeviceStatus.featuresOK == 0 {
                new &= ~VirtioDeviceStatus.driverOK
            } else {
                effect = .activate
            }
        }
        status = new
        return effect
    }

    /// A modern-only device cannot talk to a driver without VERSION_1, and no driver may
    /// accept what was not offered.
    func featuresAcceptable(_ limits: Limits) -> Bool {
        driverFeatures & VirtioFeature.version1 != 0 && driverFeatures & ~limits.offeredFeatures == 0
    }

    /// Everything the driver set up goes back to its power-on value.
    mutating func reset(queueMaxSizes: [UInt16]) {
        let generation = configGeneration
        self = VirtioCommonConfiguration(queueMaxSizes: queueMaxSizes)
        configGeneration = generation
    }

    /// Checks a restored register set as if the guest had written it.
    func validate(limits: Limits) -> String? {
        guard queues.count == limits.queueMaxSizes.count else { return "snapshot has \(queues.count) queues, device has \(limits.queueMaxSizes.count)" }
        if configVector != MSIXTable.noVector && Int(configVector) >= limits.vectorCount { return "config vector \(configVector) out of range" }
        for (index, queue) in queues.enumerated() where queue.vector != MSIXTable.noVector && Int(queue.vector) >= limits.vectorCount {
            return "queue \(index) vector \(queue.vector) out of range"
        }
        if driverFeatures & ~limits.offeredFeatures != 0 { return "driver features were never offered" }
        if status & VirtioDeviceStatus.featuresOK != 0 && !featuresAcceptable(limits) { return "FEATURES_OK with unacceptable features" }
        if status & VirtioDeviceStatus.driverOK != 0 && status & VirtioDeviceStatus.featuresOK == 0 { return "DRIVER_OK without FEATURES_OK" }
        if isr & ~(VirtioISR.queue | VirtioISR.configuration) != 0 { return "ISR has unknown bits" }
        return nil
    }
}
