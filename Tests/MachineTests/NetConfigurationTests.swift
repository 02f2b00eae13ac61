import Devices
import Foundation
import SwiftletCore
@testable import Machine
import Testing

@Suite("Network interfaces: configuration, snapshot keys and overrides")
struct NetConfigurationTests {
    func record(_ key: String, _ json: String = "{}") -> DeviceStateRecord { DeviceStateRecord(key: key, state: Data(json.utf8)) }

    var oneInterface: [DeviceStateRecord] {
        DeviceStateKey.fixed.map { record($0) } + [record("virtio-net:eth0", #"{"tap":"tap0","mac":"02:00:00:00:00:07"}"#), record("virtio-pci:0")]
    }

    @Test func aMissingTapFailsBeforeTheGuestStarts() {
        do {
            _ = try PCISubsystem.openDevices(disks: [], netInterfaces: [NetConfiguration(id: "eth0", tap: "swl-absent0")])
            Issue.record("opened a tap that does not exist")
        } catch {
            #expect("\(error)".contains("tap device swl-absent0 does not exist"))
        }
    }

    @Test func interfaceIDsMustBeUnique() {
        let twice = [NetConfiguration(id: "eth0", tap: "swl-absent0"), NetConfiguration(id: "eth0", tap: "swl-absent1")]
        do {
            _ = try PCISubsystem.openDevices(disks: [], netInterfaces: twice)
            Issue.record("accepted two interfaces with one id")
        } catch {
            // Refused before any tap is opened (neither exists).
            #expect("\(error)".contains(#"two network interfaces have the id "eth0""#))
        }
    }

    @Test func netStatesAreKnownVirtioDevices() throws {
        let states = try DeviceStateSet(oneInterface)
        #expect(states.virtioDevices.map(\.key) == ["virtio-net:eth0"])
        #expect(VirtioDeviceKind.builder(forKey: "virtio-net:eth0")?.name == "eth0")
    }

    @Test func anOverridePointsTheInterfaceAtAnotherTap() throws {
        let states = try DeviceStateSet(oneInterface)
        let overrides = [NetworkOverride(interfaceID: "eth0", tap: "tap9")]
        try NetworkOverride.check(overrides, against: states)
        let rewritten = try NetworkOverride.apply(overrides, to: states.virtioDevices[0])
        let state = try rewritten.decode(VirtioNet.State.self)
        #expect(state == VirtioNet.State(tap: "tap9", mac: MACAddress("02:00:00:00:00:07")!))
        // Records of other interfaces and devices pass through untouched.
        let disk = record("virtio-blk:rootfs")
        #expect(try NetworkOverride.apply(overrides, to: disk).state == disk.state)
    }

    @Test func anOverrideForAnUnknownInterfaceIsRefused() throws {
        let states = try DeviceStateSet(oneInterface)
        #expect(throws: MachineError.self) { try NetworkOverride.check([NetworkOverride(interfaceID: "eth1", tap: "tap9")], against: states) }
    }
}
