import Devices

extension Machine {
    /// Every device's state under its key. The VM is paused and its devices quiesced.
    func saveDeviceStates() throws(DeviceStateError) -> [DeviceStateRecord] {
        var records = [
            try DeviceStateRecord(key: DeviceStateKey.serial, saving: serial),
            try DeviceStateRecord(key: DeviceStateKey.i8042, saving: keyboardController),
            try DeviceStateRecord(key: DeviceStateKey.pciConfigIO, saving: pci.configIO),
            try DeviceStateRecord(key: DeviceStateKey.pciRoot, saving: pci.root),
        ]
        for (index, function) in pci.virtioFunctions.enumerated() {
            records.append(try DeviceStateRecord(key: function.key, saving: function.device))
            records.append(try DeviceStateRecord(key: DeviceStateKey.virtioPCI(index), saving: function.transport))
        }
        for (index, function) in virtioMMIO.virtioFunctions.enumerated() {
            records.append(try DeviceStateRecord(key: function.key, saving: function.device))
            records.append(try DeviceStateRecord(key: DeviceStateKey.virtioMMIO(index), saving: function.transport))
        }
        return records
    }

    /// Puts the saved registers back into the devices this VM was rebuilt with (the virtio
    /// devices themselves were built from their states), then maps the BARs where the
    /// restored configuration spaces say and moves the queue notifiers with them.
    func restoreDeviceStates(_ states: DeviceStateSet) throws(MachineError) {
        do {
            try restore(serial, from: states, key: DeviceStateKey.serial)
            try restore(keyboardController, from: states, key: DeviceStateKey.i8042)
            try restore(pci.configIO, from: states, key: DeviceStateKey.pciConfigIO)
            for (index, function) in pci.virtioFunctions.enumerated() {
                try restore(function.transport, from: states, key: DeviceStateKey.virtioPCI(index))
            }
            for (index, function) in virtioMMIO.virtioFunctions.enumerated() {
                try restore(function.transport, from: states, key: DeviceStateKey.virtioMMIO(index))
            }
            let rootState = try states.state(DeviceStateKey.pciRoot, as: PCIRoot.State.self)
            let moved: [PCIRoot.BARMapping]
            do { moved = try pci.root.restoreState(rootState) } catch { throw DeviceStateError.refused(key: DeviceStateKey.pciRoot, reason: "\(error)") }
            try pci.followRestoredMappings(moved)
        } catch let error as MachineError {
            throw error
        } catch {
            throw MachineError.snapshot(.restoringDevices(error))
        }
    }

    private func restore<Device: RestorableInPlace>(_ device: Device, from states: DeviceStateSet, key: String) throws(DeviceStateError) {
        let state = try states.state(key, as: Device.State.self)
        do { try device.restoreState(state) } catch { throw .refused(key: key, reason: "\(error)") }
    }
}
