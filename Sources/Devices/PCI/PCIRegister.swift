/// Offsets in a type-0 PCI configuration header.
public enum PCIRegister {
    public static let vendorID = 0x00
    public static let deviceID = 0x02
    public static let command = 0x04
    public static let status = 0x06
    public static let revisionID = 0x08
    public static let progIF = 0x09
    public static let subclass = 0x0A
    public static let classCode = 0x0B
    public static let cacheLineSize = 0x0C
    public static let latencyTimer = 0x0D
    public static let headerType = 0x0E
    public static let bar0 = 0x10
    public static let barEnd = 0x28
    public static let subsystemVendorID = 0x2C
    public static let subsystemID = 0x2E
    public static let expansionROM = 0x30
    public static let capabilitiesPointer = 0x34
    public static let interruptLine = 0x3C
    public static let interruptPin = 0x3D
    /// Where the first capability goes: right after the standard header.
    public static let firstCapability = 0x40
}

/// Bits of the command register.
public enum PCICommand {
    public static let ioSpace: UInt16 = 1 << 0
    public static let memorySpace: UInt16 = 1 << 1
    public static let busMaster: UInt16 = 1 << 2
    public static let parityErrorResponse: UInt16 = 1 << 6
    public static let serrEnable: UInt16 = 1 << 8
    public static let interruptDisable: UInt16 = 1 << 10
    /// What a driver may change; everything else in the register reads as zero.
    public static let writable: UInt16 = ioSpace | memorySpace | busMaster | parityErrorResponse | serrEnable | interruptDisable
}

/// Capability IDs used here.
public enum PCICapabilityID {
    public static let vendorSpecific: UInt8 = 0x09
    public static let msix: UInt8 = 0x11
}

/// The fixed identity of a PCI function: what it reports in the read-only header fields.
public struct PCIIdentity: Sendable, Equatable {
    public var vendorID: UInt16
    public var deviceID: UInt16
    public var revisionID: UInt8
    public var classCode: UInt8
    public var subclass: UInt8
    public var progIF: UInt8
    public var subsystemVendorID: UInt16
    public var subsystemID: UInt16
    /// 0 means the function does not use INTx.
    public var interruptPin: UInt8

    public init(
        vendorID: UInt16, deviceID: UInt16, revisionID: UInt8 = 0, classCode: UInt8, subclass: UInt8,
        progIF: UInt8 = 0, subsystemVendorID: UInt16 = 0, subsystemID: UInt16 = 0, interruptPin: UInt8 = 0
    ) {
        self.vendorID = vendorID
        self.deviceID = deviceID
        self.revisionID = revisionID
        self.classCode = classCode
        self.subclass = subclass
        self.progIF = progIF
        self.subsystemVendorID = subsystemVendorID
        self.subsystemID = subsystemID
        self.interruptPin = interruptPin
    }
}
