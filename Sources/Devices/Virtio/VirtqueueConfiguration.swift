/// What the driver programs for one queue through the common configuration registers.
public struct VirtqueueConfiguration: Codable, Sendable, Equatable {
    public var size: UInt16
    public var vector: UInt16 = MSIXTable.noVector
    public var enabled = false
    public var descriptorTable: UInt64 = 0
    public var availRing: UInt64 = 0
    public var usedRing: UInt64 = 0

    public init(size: UInt16) {
        self.size = size
    }
}
