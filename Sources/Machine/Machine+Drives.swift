import Devices

/// Why a drive could not be updated on a running VM (`PATCH /drives/{id}`).
public enum DriveUpdateError: Error, CustomStringConvertible, Sendable {
    case noSuchDrive(id: String, known: [String])

    public var description: String {
        switch self {
        case .noSuchDrive(let id, let known):
            let list = known.isEmpty ? "the VM has no drives" : "its drives are " + known.map { "'\($0)'" }.joined(separator: ", ")
            return "no drive '\(id)' in this VM; \(list)"
        }
    }
}

extension Machine {
    /// A disk and the transport core that carries it, whichever transport that is.
    private var disks: [(id: String, block: VirtioBlock, core: VirtioDeviceCore)] {
        let pciDisks = pci.virtioFunctions.compactMap { function in
            (function.device as? VirtioBlock).map { (function.name, $0, function.transport.core) }
        }
        let mmioDisks = virtioMMIO.virtioFunctions.compactMap { function in
            (function.device as? VirtioBlock).map { (function.name, $0, function.transport.core) }
        }
        return pciDisks + mmioDisks
    }

    /// Puts the image at `path` behind drive `id` and tells the guest its disk changed, with
    /// the configuration interrupt virtio-blk drivers answer by reading the capacity again.
    /// Returns the new capacity in 512-byte sectors. The guest's page cache may still hold the
    /// old image's blocks: that is for the guest to drop, as with a swapped physical medium.
    @discardableResult
    public func replaceDriveFile(id: String, path: String) throws(MachineError) -> UInt64 {
        let disks = disks
        guard let disk = disks.first(where: { $0.id == id }) else {
            throw .device(DriveUpdateError.noSuchDrive(id: id, known: disks.map(\.id)))
        }
        let sectors: UInt64
        do {
            sectors = try disk.block.replaceBackingFile(path: path)
        } catch {
            throw .device(error)
        }
        disk.core.signalConfigurationChange()
        logger.info("drive '\(id)' now backed by \(path) (\(sectors) sectors)")
        return sectors
    }
}
