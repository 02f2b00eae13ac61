/// Feature bits the transport and queues understand (virtio 1.x §6).
public enum VirtioFeature {
    public static let ringIndirectDescriptors: UInt64 = 1 << 28
    public static let ringEventIndex: UInt64 = 1 << 29
    public static let version1: UInt64 = 1 << 32
}

/// Bits of device_status (virtio 1.x §2.1).
public enum VirtioDeviceStatus {
    public static let acknowledge: UInt8 = 1
    public static let driver: UInt8 = 2
    public static let driverOK: UInt8 = 4
    public static let featuresOK: UInt8 = 8
    public static let deviceNeedsReset: UInt8 = 0x40
    public static let failed: UInt8 = 0x80
}

/// Bits of the ISR status register.
public enum VirtioISR {
    public static let queue: UInt8 = 1
    public static let configuration: UInt8 = 2
}
