/// Everything needed to build a VM that boots a kernel. Limits are checked against
/// `MachineLimits` when the VM is built.
public struct BootConfiguration: Sendable, Equatable {
    public var kernelPath: String
    public var initrdPath: String?
    public var commandLine: String
    public var memoryMiB: Int
    public var vcpuCount: Int
    public var disks: [DiskConfiguration]
    /// What carries the disks: virtio-pci unless the caller asks for virtio-mmio.
    public var transport: VirtioTransportKind

    public init(
        kernelPath: String, initrdPath: String? = nil, commandLine: String = "", memoryMiB: Int = 128, vcpuCount: Int = 1, disks: [DiskConfiguration] = [],
        transport: VirtioTransportKind = .pci
    ) {
        self.kernelPath = kernelPath
        self.initrdPath = initrdPath
        self.commandLine = commandLine
        self.memoryMiB = memoryMiB
        self.vcpuCount = vcpuCount
        self.disks = disks
        self.transport = transport
    }
}

/// A virtio-blk disk backed by a host file.
public struct DiskConfiguration: Sendable, Equatable, Codable {
    public var path: String
    public var readOnly: Bool
    public var id: String

    public init(path: String, readOnly: Bool = false, id: String) {
        self.path = path
        self.readOnly = readOnly
        self.id = id
    }
}
