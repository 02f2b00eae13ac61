/// The limits every door into Swiftlet enforces (command line, config file, API, snapshot
/// files, devices), with one wording, so a bad value fails at the first door it reaches and
/// reads the same whichever door that was.
public enum MachineLimits {
    /// Guest RAM in MiB. The floor is what a Linux kernel needs to decompress; the ceiling
    /// keeps a typo from asking the host for an absurd mapping.
    public static let memoryMiB: ClosedRange<Int> = 16...(1 << 20)
    /// vCPUs per VM: the MADT and the topology leaves are sized for this.
    public static let vcpuCount: ClosedRange<Int> = 1...32
    /// A drive ID is what the guest reads as the disk's serial (virtio-blk GET_ID): 20 bytes.
    public static let driveIDBytes = 20
    /// A vsock guest CID: 0-2 are the hypervisor's and the host's, Linux's CIDs are 32-bit,
    /// and 0xFFFFFFFF is VMADDR_CID_ANY.
    public static let vsockGuestCID: ClosedRange<UInt64> = 3...0xFFFF_FFFE
    /// Request queues of one disk: as many as vCPUs make sense, and the bound keeps a typo
    /// from allocating without limit.
    public static let diskQueueCount: ClosedRange<Int> = 1...64

    /// Why a value is outside the limits; `field` is the name the user gave it
    /// ("--memory", "mem_size_mib").
    public struct Violation: Error, Equatable, Sendable, CustomStringConvertible {
        public var field: String
        public var message: String
        public var description: String { "\(field) \(message)" }
    }

    public static func checkMemory(_ mebibytes: Int, field: String = "memory") throws(Violation) {
        guard memoryMiB.contains(mebibytes) else {
            throw Violation(field: field, message: "must be between \(memoryMiB.lowerBound) and \(memoryMiB.upperBound) MiB (got \(mebibytes))")
        }
    }

    public static func checkDiskQueueCount(_ count: Int, field: String = "disk queue count") throws(Violation) {
        guard diskQueueCount.contains(count) else {
            throw Violation(field: field, message: "must be between \(diskQueueCount.lowerBound) and \(diskQueueCount.upperBound) (got \(count))")
        }
    }

    public static func checkVCPUCount(_ count: Int, field: String = "vCPU count") throws(Violation) {
        guard vcpuCount.contains(count) else {
            throw Violation(field: field, message: "must be between \(vcpuCount.lowerBound) and \(vcpuCount.upperBound) (got \(count))")
        }
    }

    /// A drive ID is 1 to 20 ASCII letters, digits or underscores: Firecracker's alphabet
    /// (IDs end up in URL paths, log lines and guest-visible names), and virtio-blk's length.
    public static func checkDriveID(_ id: String, field: String = "drive ID") throws(Violation) {
        let allowed = id.utf8.allSatisfy { byte in
            (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z")) || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
                || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")) || byte == UInt8(ascii: "_")
        }
        guard !id.isEmpty, id.utf8.count <= driveIDBytes, allowed else {
            throw Violation(field: field, message: "'\(id)' must be 1 to \(driveIDBytes) ASCII letters, digits or underscores")
        }
    }

    public static func checkVsockGuestCID(_ cid: UInt64, field: String = "vsock guest CID") throws(Violation) {
        guard vsockGuestCID.contains(cid) else {
            throw Violation(
                field: field,
                message: "must be between \(vsockGuestCID.lowerBound) and \(vsockGuestCID.upperBound) (got \(cid); 0 to 2 are reserved for the hypervisor and host)")
        }
    }
}
