import CKVM
import Devices
import FoundationEssentials
import GuestMemory
import KVM
import Logging
import SwiftletCore
import X86Boot

#if canImport(Glibc)
import Glibc
#endif

extension Machine {
    /// Version 2: device states became a keyed list (`DeviceStateRecord`).
    static let snapshotSoftwareVersion = "swiftlet-snapshot-2"

    /// Writes guest RAM to `memoryPath` and the rest of the VM to `statePath`. The VM must be
    /// paused. Memory is written first, so a state file always names complete memory, and
    /// each file appears under its name only once it is complete.
    ///
    /// A `.diff` snapshot needs dirty page tracking and writes only the pages written since the
    /// previous snapshot (or the boot): those KVM logged for the guest OR'ed with those the VMM
    /// wrote itself. Any snapshot taken while tracking clears both logs, so the next diff is
    /// relative to it.
    public func createSnapshot(statePath: String, memoryPath: String, type: SnapshotType = .full) throws(MachineError) {
        guard control.isQuiescent else {
            throw MachineError.invalidState("the VM must be paused before a snapshot is taken")
        }
        if type == .diff, !memory.tracksDirtyPages {
            throw MachineError.invalidState("Diff snapshots are not allowed on uVMs with dirty page tracking disabled (set track_dirty_pages in machine-config).")
        }
        let hostBacked = pci.virtioFunctions.compactMap { $0.device as? any HostFileBackedDevice }
        let inputs = bootFiles + hostBacked.flatMap { $0.hostFiles.map { SnapshotOutputCheck.Input(what: $0.what, path: $0.path, identity: $0.identity) } }
        do throws(SnapshotError) {
            try SnapshotOutputCheck.check(statePath: statePath, memoryPath: memoryPath, inputs: inputs)
        } catch {
            throw .snapshot(error)
        }
        // Pausing (or restoring) already quiesced the devices: no request is in flight. What
        // they wrote reaches the disk before the snapshot exists, so the two agree after a crash.
        do {
            for device in hostBacked { try device.syncHostFiles() }
        } catch {
            throw .snapshot(.syncingDisks(error))
        }
        var snapshot = try captureState()
        snapshot.snapshotType = type
        // Read (and so cleared) before any file is written: a failed snapshot loses the log,
        // which only makes the next diff unusable, as it would be in Firecracker.
        let dirty = try takeDirtyPages()
        let payload: Data
        do {
            payload = try JSONEncoder().encode(snapshot)
        } catch {
            throw .snapshot(.encoding(error))
        }
        do {
            try SnapshotFile.atomicWrite(path: memoryPath) { fd in
                var fileOffset = 0
                for (index, region) in memory.regions.enumerated() {
                    if type == .diff, let dirty {
                        try SparseMemoryWriter.writeDirty(
                            region.hostPointer, count: Int(region.size), dirty: dirty[index], to: fd, at: fileOffset, path: memoryPath)
                    } else {
                        try SparseMemoryWriter.write(region.hostPointer, count: Int(region.size), to: fd, at: fileOffset, path: memoryPath)
                    }
                    fileOffset += Int(region.size)
                }
                // Sizes the file so that trailing zero pages, written as holes, still count.
                do throws(SystemError) {
                    try systemCall("ftruncate") { ftruncate(fd, off_t(fileOffset)) }
                } catch {
                    throw SnapshotFileError(.system(error), path: memoryPath)
                }
            }
            try SnapshotFile.write(payload: [UInt8](payload), to: statePath)
        } catch let error as SnapshotFileError {
            throw .snapshot(.stateFile(error))
        } catch {
            throw .snapshot(.encoding(error))
        }
    }

    /// Per memory slot, the pages written since the last call: KVM's dirty log for the guest's
    /// writes OR'ed with the VMM's own (`GuestMemory.dirtyPages`), both cleared. Nil when dirty
    /// pages are not tracked.
    private func takeDirtyPages() throws(MachineError) -> [[UInt64]]? {
        guard let software = memory.dirtyPages else { return nil }
        var result: [[UInt64]] = []
        var guestPages = 0, vmmPages = 0
        for (index, region) in memory.regions.enumerated() {
            let pageCount = Int(region.size) / SparseMemoryWriter.pageSize
            let logged: [UInt64]
            do {
                logged = try vm.dirtyLog(slot: UInt32(index), pageCount: pageCount)
            } catch {
                throw .snapshot(.capturing(error))
            }
            let written = software[index].take()
            guestPages += logged.reduce(0) { $0 + $1.nonzeroBitCount }
            vmmPages += written.reduce(0) { $0 + $1.nonzeroBitCount }
            result.append(zip(logged, written).map { $0 | $1 })
        }
        let total = result.reduce(0) { $0 + $1.reduce(0) { $0 + $1.nonzeroBitCount } }
        logger.info("dirty pages since the last snapshot", metadata: ["total": "\(total)", "kvm": "\(guestPages)", "vmm": "\(vmmPages)"])
        return result
    }

    private func captureState() throws(MachineError) -> MachineSnapshot {
        do {
            // The TSC deadline is emulated by KVM's LAPIC; KVM lists it among the MSRs to save,
            // but a deadline lost on restore would leave a tickless guest waiting forever.
            let listed = try kvm.msrIndexList()
            let msrIndices = listed.contains(VCPUSnapshot.tscDeadlineMSR) ? listed : listed + [VCPUSnapshot.tscDeadlineMSR]
            let xsaveSize = Int(max(4096, kvm.checkExtension(KVM_CAP_XSAVE2)))
            let vcpuStates = try vcpus.map { vcpu throws(KVMError) in
                try VCPUSnapshot.capture(vcpu, msrIndices: msrIndices, xsaveSize: xsaveSize)
            }
            if let saved = vcpuStates.first?.msrs.map(\.index) {
                let skipped = msrIndices.filter { !saved.contains($0) }.map { "0x" + String($0, radix: 16) }
                logger.debug("snapshot MSRs", metadata: ["saved": "\(saved.count)", "unreadable": "\(skipped)"])
            }
            let vmState = MachineSnapshot.VMState(
                picMaster: RawBytes.encode(try vm.irqchip(UInt32(KVM_IRQCHIP_PIC_MASTER))),
                picSlave: RawBytes.encode(try vm.irqchip(UInt32(KVM_IRQCHIP_PIC_SLAVE))),
                ioapic: RawBytes.encode(try vm.irqchip(UInt32(KVM_IRQCHIP_IOAPIC))),
                pit: RawBytes.encode(try vm.pit2()),
                clock: RawBytes.encode(try vm.clock()))
            return MachineSnapshot(
                swiftletVersion: Self.snapshotSoftwareVersion,
                memoryMiB: Int(memory.totalSize >> 20),
                memoryRegions: memory.regions.map { .init(base: $0.range.start, size: $0.range.length) },
                vcpus: vcpuStates,
                vm: vmState,
                devices: try saveDeviceStates())
        } catch {
            throw .snapshot(.capturing(error))
        }
    }

    /// Rebuilds a VM from a snapshot in this (fresh) process. Guest RAM is mapped from the
    /// memory file `MAP_PRIVATE`: pages load on first touch and the file is never written.
    /// The VM comes back paused; call `start()` and then `resume()`.
    public static func restore(
        statePath: String,
        memoryPath: String,
        kvmDevicePath: String = defaultKVMDevicePath,
        networkOverrides: [NetworkOverride] = [],
        trackDirtyPages: Bool = false,
        serialOutput: @escaping @Sendable ([UInt8]) -> Void,
        logger: Logger
    ) throws(MachineError) -> Machine {
        let snapshot = try readSnapshot(statePath)
        let deviceStates = try checkedDeviceStates(snapshot, path: statePath)
        try NetworkOverride.check(networkOverrides, against: deviceStates)
        let memory = try mapMemoryFile(memoryPath, for: snapshot, trackDirtyPages: trackDirtyPages)
        // Virtio devices are built from their saved states: disks are reopened from the paths
        // in the snapshot, which the user keeps unchanged, and taps by name unless overridden.
        let virtioDevices: [(name: String, device: any SnapshottableVirtioDevice)]
        do {
            virtioDevices = try deviceStates.buildVirtioDevices { record throws(DeviceStateError) in
                try NetworkOverride.apply(networkOverrides, to: record)
            }
        } catch {
            throw .snapshot(.invalidDevices(path: statePath, error))
        }
        let machine = try Machine(
            memory: memory, vcpuCount: snapshot.vcpus.count, virtioDevices: virtioDevices, transport: deviceStates.transport, startPaused: true,
            kvmDevicePath: kvmDevicePath,
            serialOutput: serialOutput, logger: logger)
        try machine.restoreVMState(snapshot.vm)
        let canScaleTSC = machine.kvm.checkExtension(KVM_CAP_TSC_CONTROL) > 0
        for (vcpu, state) in zip(machine.vcpus, snapshot.vcpus) {
            try state.restore(into: vcpu, canScaleTSC: canScaleTSC)
        }
        try machine.restoreDeviceStates(deviceStates)
        // Notifications stay held back until the VM resumes.
        machine.pci.quiesce()
        machine.virtioMMIO.quiesce()
        return machine
    }

    static func readSnapshot(_ path: String) throws(MachineError) -> MachineSnapshot {
        let payload: [UInt8]
        do {
            payload = try SnapshotFile.read(path: path)
        } catch {
            throw .snapshot(.stateFile(error))
        }
        // The version is read on its own first: an older payload has another shape, and
        // should be refused as incompatible rather than as undecodable.
        struct VersionProbe: Decodable { var swiftletVersion: String }
        if let probe = try? JSONDecoder().decode(VersionProbe.self, from: Data(payload)), probe.swiftletVersion != snapshotSoftwareVersion {
            throw .snapshot(.incompatibleVersion(path: path, version: probe.swiftletVersion))
        }
        let snapshot: MachineSnapshot
        do {
            snapshot = try JSONDecoder().decode(MachineSnapshot.self, from: Data(payload))
        } catch {
            throw .snapshot(.decoding(path: path, error))
        }
        // The same limits as a boot: a snapshot is one more door into the VMM.
        guard MachineLimits.vcpuCount.contains(snapshot.vcpus.count),
            snapshot.vcpus.enumerated().allSatisfy({ $0.offset == $0.element.id })
        else {
            throw .snapshot(.invalidVCPUList(path: path))
        }
        // The device states are checked by `restore`, which keeps the checked set it builds.
        guard MachineLimits.memoryMiB.contains(snapshot.memoryMiB),
            let expected = X86Layout.ramLayout(size: UInt64(snapshot.memoryMiB) << 20),
            snapshot.memoryRegions == expected.map({ .init(base: $0.start, size: $0.length) })
        else {
            throw .snapshot(.memoryLayoutMismatch(path: path))
        }
        return snapshot
    }

    /// The snapshot's device states, refused unless every key this VM needs is present and
    /// every key is one this Swiftlet knows.
    static func checkedDeviceStates(_ snapshot: MachineSnapshot, path: String) throws(MachineError) -> DeviceStateSet {
        do {
            return try DeviceStateSet(snapshot.devices)
        } catch {
            throw .snapshot(.invalidDevices(path: path, error))
        }
    }

    private static func mapMemoryFile(_ path: String, for snapshot: MachineSnapshot, trackDirtyPages: Bool) throws(MachineError) -> GuestMemory {
        let file: HostFile.Opened
        do {
            file = try HostFile.open(path, what: "snapshot memory")
        } catch {
            throw .snapshot(.memoryFile(error))
        }
        defer { try? file.descriptor.close() }  // The private mapping keeps its own reference to the file.
        guard file.size == snapshot.memoryBytes else {
            throw .snapshot(.memoryFileSize(path: path, actual: file.size, expected: snapshot.memoryBytes))
        }
        let layout = snapshot.memoryRegions.compactMap { AddressRange(start: $0.base, length: $0.size) }
        guard layout.count == snapshot.memoryRegions.count else { throw .snapshot(.memoryLayoutMismatch(path: path)) }
        do {
            return try GuestMemory(layout: layout, privateFile: file.descriptor.rawValue, trackDirtyPages: trackDirtyPages)
        } catch {
            throw .snapshot(.mappingMemory(path: path, error))
        }
    }

    private func restoreVMState(_ state: MachineSnapshot.VMState) throws(MachineError) {
        do {
            try vm.setIRQChip(try RawBytes.decode(kvm_irqchip.self, from: state.picMaster, what: "PIC master"))
            try vm.setIRQChip(try RawBytes.decode(kvm_irqchip.self, from: state.picSlave, what: "PIC slave"))
            try vm.setIRQChip(try RawBytes.decode(kvm_irqchip.self, from: state.ioapic, what: "IOAPIC"))
            try vm.setPIT2(try RawBytes.decode(kvm_pit_state2.self, from: state.pit, what: "PIT"))
            try vm.setClock(try RawBytes.decode(kvm_clock_data.self, from: state.clock, what: "clock"))
        } catch let error as SnapshotError {
            throw .snapshot(error)
        } catch {
            throw .snapshot(.restoringVM(error))
        }
    }
}
