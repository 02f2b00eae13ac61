/// What a driver programs into any virtio device, whatever the transport: feature selection
/// and negotiation, the device status, queue selection and each queue's setup, and the
/// interrupt status. Pure state plus the rules for changing it (virtio 1.x §2, §3.1).
///
/// Each transport maps these onto its own register layout (virtio-pci's common
/// configuration structure in `VirtioPCICommonConfiguration`; virtio-mmio's register block)
/// and hands the `Effect` of a write to `VirtioDeviceCore`, which applies it.
public struct VirtioRegisters: Codable, Sendable, Equatable {
    public var deviceFeatureSelect: UInt32 = 0
    public var driverFeatureSelect: UInt32 = 0
    public var driverFeatures: UInt64 = 0
    /// The MSI-X vector for configuration changes (transports without vectors leave it NO_VECTOR).
    public var configVector: UInt16 = MSIXTable.noVector
    public var status: UInt8 = 0
    public var configGeneration: UInt8 = 0
    public var queueSelect: UInt16 = 0
    public var queues: [VirtqueueConfiguration]
    /// Interrupt status (`VirtioISR` bits): read-to-clear on virtio-pci, acknowledged on virtio-mmio.
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
        /// MSI-X vectors the transport has (0 on a transport without vectors).
        let vectorCount: Int
    }

    // MARK: - Features

    /// The 32 bits of the offered features that `deviceFeatureSelect` picks (zero past 64).
    func deviceFeatureWord(offered: UInt64) -> UInt32 {
        deviceFeatureSelect < 2 ? UInt32(truncatingIfNeeded: offered >> (32 * UInt64(deviceFeatureSelect))) : 0
    }

    /// The 32 bits of the driver's features that `driverFeatureSelect` picks (zero past 64).
    var driverFeatureWord: UInt32 {
        driverFeatureSelect < 2 ? UInt32(truncatingIfNeeded: driverFeatures >> (32 * UInt64(driverFeatureSelect))) : 0
    }

    /// Features are frozen once the driver has asked for FEATURES_OK.
    mutating func writeDriverFeatureWord(_ value: UInt32) {
        guard status & (VirtioDeviceStatus.featuresOK | VirtioDeviceStatus.driverOK) == 0, driverFeatureSelect < 2 else { return }
        let shift = 32 * UInt64(driverFeatureSelect)
        driverFeatures = (driverFeatures & ~(0xFFFF_FFFF << shift)) | (UInt64(value) << shift)
    }

    /// A modern-only device cannot talk to a driver without VERSION_1, and no driver may
    /// accept what was not offered.
    func featuresAcceptable(_ limits: Limits) -> Bool {
        driverFeatures & VirtioFeature.version1 != 0 && driverFeatures & ~limits.offeredFeatures == 0
    }

    // MARK: - Vectors

    mutating func setConfigVector(_ value: UInt64, limits: Limits) { configVector = Self.validVector(value, limits) }

    mutating func setSelectedQueueVector(_ value: UInt64, limits: Limits) {
        let vector = Self.validVector(value, limits)
        updateSelectedQueue { $0.vector = vector }
    }

    /// Vectors the MSI-X table does not have read back as NO_VECTOR, which tells the driver
    /// the assignment failed.
    private static func validVector(_ value: UInt64, _ limits: Limits) -> UInt16 {
        value < UInt64(limits.vectorCount) ? UInt16(value) : MSIXTable.noVector
    }

    // MARK: - Queues

    var selectedQueue: VirtqueueConfiguration? {
        Int(queueSelect) < queues.count ? queues[Int(queueSelect)] : nil
    }

    /// Queue registers change only between FEATURES_OK and DRIVER_OK, and only while the
    /// queue is not yet enabled; an out-of-range queue_select makes them read-only zeros.
    mutating func updateSelectedQueue(_ change: (inout VirtqueueConfiguration) -> Void) {
        guard status & VirtioDeviceStatus.featuresOK != 0, status & VirtioDeviceStatus.driverOK == 0,
            Int(queueSelect) < queues.count, !queues[Int(queueSelect)].enabled
        else { return }
        change(&queues[Int(queueSelect)])
    }

    /// Replaces the low or high half (`half` 0 or 1) of a 64-bit queue address, or all of it.
    static func merge(_ current: UInt64, half: UInt64, width: Int, _ value: UInt64) -> UInt64 {
        if width == 8 { return value }
        let shift = half * 32
        return (current & ~(0xFFFF_FFFF << shift)) | ((value & 0xFFFF_FFFF) << shift)
    }

    // MARK: - Status

    /// The status state machine. Writing 0 resets. Otherwise bits only accumulate: the driver
    /// cannot clear a bit or set DEVICE_NEEDS_RESET, FEATURES_OK sticks only if the
    /// negotiated features are acceptable, DRIVER_OK only after FEATURES_OK.
    mutating func writeStatus(_ value: UInt8, limits: Limits) -> Effect {
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

    /// Everything the driver set up goes back to its power-on value.
    mutating func reset(queueMaxSizes: [UInt16]) {
        let generation = configGeneration
        self = VirtioRegisters(queueMaxSizes: queueMaxSizes)
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
