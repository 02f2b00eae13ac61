import Devices
import Foundation
@testable import Machine
import Testing

@Suite("Keyed device states in a snapshot")
struct DeviceStateSetTests {
    func record(_ key: String) -> DeviceStateRecord { DeviceStateRecord(key: key, state: Data("{}".utf8)) }

    /// The fixed devices, one disk and its transport: what a one-disk VM saves.
    var oneDisk: [DeviceStateRecord] {
        (DeviceStateKey.fixed + ["virtio-blk:rootfs", "virtio-pci:0"]).map(record)
    }

    @Test func aCompleteListIsAcceptedAndNamesItsVirtioDevicesInOrder() throws {
        let list = oneDisk + [record("virtio-blk:data"), record("virtio-pci:1")]
        let states = try DeviceStateSet(list)
        #expect(states.virtioDevices.map(\.key) == ["virtio-blk:rootfs", "virtio-blk:data"])
        #expect(try DeviceStateSet(DeviceStateKey.fixed.map(record)).virtioDevices.isEmpty)
    }

    @Test func aMissingKeyIsNamed() {
        #expect(throws: DeviceStateError.missing("i8042")) { try DeviceStateSet(oneDisk.filter { $0.key != "i8042" }) }
        // A disk without its transport.
        #expect(throws: DeviceStateError.missing("virtio-pci:0")) { try DeviceStateSet(oneDisk.filter { $0.key != "virtio-pci:0" }) }
    }

    @Test func virtioMMIOTransportsAreRequiredInsteadOfPCIOnes() throws {
        let mmio = (DeviceStateKey.fixed + ["virtio-blk:rootfs", "virtio-mmio:0", "virtio-blk:data", "virtio-mmio:1"]).map(record)
        let states = try DeviceStateSet(mmio)
        #expect(states.transport == .mmio)
        #expect(try DeviceStateSet(oneDisk).transport == .pci)
        #expect(throws: DeviceStateError.missing("virtio-mmio:1")) { try DeviceStateSet(mmio.filter { $0.key != "virtio-mmio:1" }) }
        // One VM has one transport: a PCI transport beside mmio ones belongs to nothing.
        #expect(throws: DeviceStateError.unknown("virtio-pci:0")) { try DeviceStateSet(mmio + [record("virtio-pci:0")]) }
    }

    @Test func anUnknownOrRepeatedKeyIsNamed() {
        #expect(throws: DeviceStateError.unknown("virtio-gpu:0")) { try DeviceStateSet(oneDisk + [record("virtio-gpu:0")]) }
        #expect(throws: DeviceStateError.unknown("floppy")) { try DeviceStateSet(oneDisk + [record("floppy")]) }
        // A transport for a device that is not there.
        #expect(throws: DeviceStateError.unknown("virtio-pci:1")) { try DeviceStateSet(oneDisk + [record("virtio-pci:1")]) }
        #expect(throws: DeviceStateError.duplicate("serial")) { try DeviceStateSet(oneDisk + [record("serial")]) }
    }

    @Test func statesDecodeUnderTheirKeyAndSayWhichOneIsBroken() throws {
        let serial = try DeviceStateRecord(key: "serial", saving: Serial16550(interrupt: DisconnectedInterruptLine(), output: { _ in }))
        let states = try DeviceStateSet(oneDisk.filter { $0.key != "serial" } + [serial])
        _ = try states.state("serial", as: Serial16550.State.self)
        #expect(throws: DeviceStateError.self) { try states.state("i8042", as: I8042Controller.State.self) }
        #expect(throws: DeviceStateError.missing("nothing")) { try states.state("nothing", as: I8042Controller.State.self) }
    }

    @Test func virtioDevicesAreBuiltFromTheirStates() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("swiftlet-state-\(getpid()).img").path
        #expect(FileManager.default.createFile(atPath: path, contents: Data(count: 4096)))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let disk = try VirtioBlock(path: path, readOnly: true, id: "rootfs")
        let saved = try DeviceStateRecord(key: "virtio-blk:rootfs", saving: disk)
        let states = try DeviceStateSet(oneDisk.filter { $0.key != "virtio-blk:rootfs" } + [saved])
        let built = try states.buildVirtioDevices()
        #expect(built.map(\.name) == ["rootfs"])
        let block = try #require(built.first?.device as? VirtioBlock)
        #expect(block.saveState() == disk.saveState())

        let gone = DeviceStateRecord(key: "virtio-blk:rootfs", state: try JSONEncoder().encode(VirtioBlock.State(path: path + ".gone", readOnly: true, id: "rootfs")))
        #expect(throws: DeviceStateError.self) { try DeviceStateSet(oneDisk.filter { $0.key != "virtio-blk:rootfs" } + [gone]).buildVirtioDevices() }
    }
}

@Suite("Snapshot version")
struct SnapshotVersionTests {
    @Test func aSnapshotWithTheOldDeviceStructIsRefusedAsIncompatible() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("swiftlet-v1-\(getpid()).state").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        // Version 1 listed devices as a struct; this payload does not decode as version 2.
        let payload = #"{"swiftletVersion":"swiftlet-snapshot-1","devices":{"serial":{}},"vcpus":[]}"#
        try SnapshotFile.write(payload: Array(payload.utf8), to: path)
        do {
            _ = try Machine.readSnapshot(path)
            Issue.record("a version-1 snapshot was accepted")
        } catch {
            #expect("\(error)".contains("incompatible Swiftlet (swiftlet-snapshot-1)"))
        }
    }
}
