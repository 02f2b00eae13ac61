import Devices
import Foundation
import SwiftletCore
@testable import Machine
import Testing

@Suite("The vsock device: configuration and snapshot records")
struct VsockConfigurationTests {
    private func temporaryDirectory() throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("swiftlet-vsock-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
        return path
    }

    @Test func theVsockDeviceComesAfterDisksAndInterfacesUnderItsID() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let devices = try PCISubsystem.openDevices(disks: [], netInterfaces: [], vsock: VsockConfiguration(guestCID: 3, udsPath: directory + "/v.sock"))
        #expect(devices.count == 1)
        let device = try #require(devices.first)
        #expect(VirtioDeviceKind.key(device: device.device, name: device.name) == "virtio-vsock:vsock")
    }

    @Test func anExistingPathFailsBeforeTheGuestStarts() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let taken = directory + "/taken"
        #expect(FileManager.default.createFile(atPath: taken, contents: Data()))
        do {
            _ = try PCISubsystem.openDevices(disks: [], netInterfaces: [], vsock: VsockConfiguration(guestCID: 3, udsPath: taken))
            Issue.record("listened on a path that exists")
        } catch {
            #expect("\(error)".contains("vsock uds path \(taken) already exists"))
        }
    }

    @Test func aSavedVsockStateRebuildsTheDevice() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let state = VirtioVsock.State(guestCID: 7, udsPath: directory + "/v.sock")
        let record = DeviceStateRecord(key: "virtio-vsock:vsock", state: try JSONEncoder().encode(state))
        let builder = try #require(VirtioDeviceKind.builder(forKey: record.key))
        #expect(builder.name == "vsock")
        let device = try #require(try builder.build(record) as? VirtioVsock)
        #expect(device.saveState() == state)
    }
}
