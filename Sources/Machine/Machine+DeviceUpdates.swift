import Devices
import SwiftletCore

/// Why a device could not be updated on a running VM (`PATCH /drives/{id}`,
/// `PATCH /network-interfaces/{id}`).
public enum DeviceUpdateError: Error, CustomStringConvertible, Sendable {
    case noSuchDrive(id: String, known: [String])
    case noSuchInterface(id: String, known: [String])

    public var description: String {
        switch self {
        case .noSuchDrive(let id, let known):
            let list = known.isEmpty ? "the VM has no drives" : "its drives are " + known.map { "'\($0)'" }.joined(separator: ", ")
            return "no drive '\(id)' in this VM; \(list)"
        case .noSuchInterface(let id, let known):
            let list = known.isEmpty ? "the VM has no network interfaces" : "its interfaces are " + known.map { "'\($0)'" }.joined(separator: ", ")
            return "no network interface '\(id)' in this VM; \(list)"
        }
    }
}

extension Machine {
    /// Every virtio device with its user's name and the transport core that carries it,
    /// whichever transport that is.
    private var virtioDevices: [(id: String, device: any VirtioDevice, core: VirtioDeviceCore)] {
        pci.virtioFunctions.map { ($0.name, $0.device, $0.transport.core) }
            + virtioMMIO.virtioFunctions.map { ($0.name, $0.device, $0.transport.core) }
    }

    private var disks: [(id: String, block: VirtioBlock, core: VirtioDeviceCore)] {
        virtioDevices.compactMap { entry in (entry.device as? VirtioBlock).map { (entry.id, $0, entry.core) } }
    }

    /// Changes drive `id` of the running VM: a new image at `path`, a new rate limit, or both
    /// (nil leaves that part as it is). A new image is announced to the guest with the
    /// configuration interrupt virtio-blk drivers answer by reading the capacity again. The
    /// guest's page cache may still hold the old image's blocks: that is for the guest to drop,
    /// as with a swapped physical medium. A refused image changes nothing.
    public func updateDrive(id: String, path: String?, rateLimit: RateLimitConfiguration?) throws(MachineError) {
        let disks = disks
        guard let disk = disks.first(where: { $0.id == id }) else {
            throw .device(DeviceUpdateError.noSuchDrive(id: id, known: disks.map(\.id)))
        }
        if let path {
            let sectors: UInt64
            do {
                sectors = try disk.block.replaceBackingFile(path: path)
            } catch {
                throw .device(error)
            }
            disk.core.signalConfigurationChange()
            logger.info("drive '\(id)' now backed by \(path) (\(sectors) sectors)")
        }
        if let rateLimit {
            disk.block.setRateLimit(rateLimit)
            logger.info("drive '\(id)' has a new rate limit")
        }
    }
}

extension Machine {
    /// New rate limits for network interface `id` of the running VM (nil leaves that
    /// direction as it is); the new buckets start full.
    public func updateNetworkInterface(id: String, receiveRateLimit: RateLimitConfiguration?, transmitRateLimit: RateLimitConfiguration?) throws(MachineError) {
        let interfaces = virtioDevices.compactMap { entry in (entry.device as? VirtioNet).map { (entry.id, $0) } }
        guard let interface = interfaces.first(where: { $0.0 == id })?.1 else {
            throw .device(DeviceUpdateError.noSuchInterface(id: id, known: interfaces.map(\.0)))
        }
        interface.updateRateLimits(receive: receiveRateLimit, transmit: transmitRateLimit)
        logger.info("network interface '\(id)' has new rate limits")
    }
}
