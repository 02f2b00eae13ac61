import Devices
import SwiftletCore

/// Everything needed to build a VM that boots a kernel. Limits are checked against
/// `MachineLimits` when the VM is built.
public struct BootConfiguration: Sendable, Equatable {
    public var kernelPath: String
    public var initrdPath: String?
    public var commandLine: String
    public var memoryMiB: Int
    public var vcpuCount: Int
    public var disks: [DiskConfiguration]
    /// virtio-net interfaces, attached after the disks in this order.
    public var netInterfaces: [NetConfiguration]
    /// What carries the virtio devices: virtio-pci unless the caller asks for virtio-mmio.
    public var transport: VirtioTransportKind
    /// A virtio-rng device fed from the host's getrandom, after the other virtio devices.
    public var entropy: Bool
    /// Firecracker's boot-timer device, counting from this moment; nil: none.
    public var bootTimerStart: BootTimer.Instant?
    /// The virtio-vsock device, attached after the network interfaces; nil for none.
    public var vsock: VsockConfiguration?
    /// Firecracker's `track_dirty_pages`: KVM and the VMM record which pages change, so that a
    /// diff snapshot writes only those. Unavailable on a KVM without dirty logging (PVM).
    public var trackDirtyPages: Bool

    public init(
        kernelPath: String, initrdPath: String? = nil, commandLine: String = "", memoryMiB: Int = 128, vcpuCount: Int = 1, disks: [DiskConfiguration] = [],
        netInterfaces: [NetConfiguration] = [], transport: VirtioTransportKind = .pci, entropy: Bool = false,
        bootTimerStart: BootTimer.Instant? = nil, trackDirtyPages: Bool = false
    ) {
        self.trackDirtyPages = trackDirtyPages
        self.kernelPath = kernelPath
        self.initrdPath = initrdPath
        self.commandLine = commandLine
        self.memoryMiB = memoryMiB
        self.vcpuCount = vcpuCount
        self.disks = disks
        self.netInterfaces = netInterfaces
        self.transport = transport
        self.entropy = entropy
        self.bootTimerStart = bootTimerStart
    }
}

/// A virtio-blk disk backed by a host file.
public struct DiskConfiguration: Sendable, Equatable, Codable {
    public var path: String
    public var readOnly: Bool
    public var id: String
    /// Firecracker's token buckets for this disk; nil: unlimited.
    public var rateLimit: RateLimitConfiguration?
    /// What the guest's FLUSH does (Firecracker's `cache_type`).
    public var cacheType: VirtioBlock.CacheType
    /// Firecracker's `io_engine`.
    public var ioEngine: VirtioBlock.IOEngine
    /// O_DIRECT on the image.
    public var direct: Bool
    /// Request queues; nil gives one per vCPU.
    public var queueCount: Int?

    public init(
        path: String, readOnly: Bool = false, id: String, rateLimit: RateLimitConfiguration? = nil, cacheType: VirtioBlock.CacheType = .writeback,
        ioEngine: VirtioBlock.IOEngine = .sync, direct: Bool = false, queueCount: Int? = nil
    ) {
        self.path = path
        self.readOnly = readOnly
        self.id = id
        self.rateLimit = rateLimit
        self.cacheType = cacheType
        self.ioEngine = ioEngine
        self.direct = direct
        self.queueCount = queueCount
    }

    /// The device's options in a VM with `vcpuCount` vCPUs.
    func options(vcpuCount: Int) -> VirtioBlock.Options {
        VirtioBlock.Options(
            cacheType: cacheType, ioEngine: ioEngine, direct: direct,
            queueCount: queueCount ?? min(vcpuCount, VirtioBlock.maxQueues))
    }
}

/// A virtio-net interface backed by an existing host tap.
public struct NetConfiguration: Sendable, Equatable, Codable {
    /// The user's name for it (Firecracker's iface_id); its state is saved as "virtio-net:<id>".
    public var id: String
    public var tap: String
    /// The guest's MAC; nil gives a locally administered one derived from the interface's position.
    public var mac: MACAddress?
    /// Firecracker's token buckets for frames to the guest and from it; nil: unlimited.
    public var receiveRateLimit: RateLimitConfiguration?
    public var transmitRateLimit: RateLimitConfiguration?

    public init(
        id: String, tap: String, mac: MACAddress? = nil, receiveRateLimit: RateLimitConfiguration? = nil,
        transmitRateLimit: RateLimitConfiguration? = nil
    ) {
        self.id = id
        self.tap = tap
        self.mac = mac
        self.receiveRateLimit = receiveRateLimit
        self.transmitRateLimit = transmitRateLimit
    }
}

/// The virtio-vsock device: the guest's CID and the host Unix socket for the host side.
public struct VsockConfiguration: Sendable, Equatable, Codable {
    /// Its state is saved as "virtio-vsock:<id>".
    public var id: String
    public var guestCID: UInt64
    public var udsPath: String

    public init(id: String = "vsock", guestCID: UInt64, udsPath: String) {
        self.id = id
        self.guestCID = guestCID
        self.udsPath = udsPath
    }
}
