@testable import ControlAPI
import SwiftletCore
import Testing

@Suite("Network interfaces in the API, config files and snapshot loads")
struct NetworkInterfaceTests {
    private func route(_ method: String, _ path: String, _ body: String) throws(APIFault) -> APIRequest {
        try APIRouter.route(method: method, target: path, body: Array(body.utf8))
    }

    /// `METHOD /network-interfaces/eth0` with `body` is refused with a message holding `expected`.
    private func expectRefusal(_ method: String, _ body: String, saying expected: String) {
        do {
            let request = try route(method, "/network-interfaces/eth0", body)
            Issue.record("accepted \(body) as \(request)")
        } catch {
            #expect(error.message.contains(expected), "'\(error.message)' lacks '\(expected)'")
        }
    }

    @Test func putNetworkInterfaceCarriesTapAndMAC() throws {
        let request = try route("PUT", "/network-interfaces/eth0", #"{"iface_id": "eth0", "host_dev_name": "tap0", "guest_mac": "06:00:AC:10:00:02"}"#)
        #expect(request == .putNetworkInterface(NetworkInterface(interfaceID: "eth0", hostDeviceName: "tap0", guestMAC: MACAddress("06:00:ac:10:00:02"))))
        let withoutMAC = try route("PUT", "/network-interfaces/net_1", #"{"iface_id": "net_1", "host_dev_name": "tap1", "rx_rate_limiter": null}"#)
        #expect(withoutMAC == .putNetworkInterface(NetworkInterface(interfaceID: "net_1", hostDeviceName: "tap1")))
    }

    @Test func rateLimitersInAPutAndAPatch() throws {
        let limit = RateLimitConfiguration(bandwidth: .init(size: 125_000, refillTimeMilliseconds: 100))
        let put = try route(
            "PUT", "/network-interfaces/eth0",
            #"{"iface_id": "eth0", "host_dev_name": "tap0", "tx_rate_limiter": {"bandwidth": {"size": 125000, "refill_time": 100}}}"#)
        #expect(put == .putNetworkInterface(NetworkInterface(interfaceID: "eth0", hostDeviceName: "tap0", transmitRateLimiter: limit)))
        guard case .putNetworkInterface(let interface) = put else { return }
        #expect(try NetworkInterface(json: interface.jsonValue, context: "network-interfaces") == interface)

        let patch = try route(
            "PATCH", "/network-interfaces/eth0", #"{"iface_id": "eth0", "rx_rate_limiter": {"bandwidth": {"size": 125000, "refill_time": 100}}}"#)
        #expect(patch == .patchNetworkInterface(NetworkInterfaceUpdate(interfaceID: "eth0", receiveRateLimiter: limit)))
        let refusals = [
            (#"{"iface_id": "eth0"}"#, "'rx_rate_limiter', 'tx_rate_limiter' or both"),
            (#"{"iface_id": "eth1", "rx_rate_limiter": {}}"#, "does not match"),
            (#"{"iface_id": "eth0", "host_dev_name": "tap1", "rx_rate_limiter": {}}"#, "host_dev_name"),
        ]
        for (body, expected) in refusals { expectRefusal("PATCH", body, saying: expected) }
    }

    @Test func putNetworkInterfaceRefusesMismatchesAndBadFields() {
        let refusals = [
            (#"{"iface_id": "eth1", "host_dev_name": "tap0"}"#, "does not match"),
            (#"{"iface_id": "eth0"}"#, "host_dev_name"),
            (#"{"iface_id": "eth0", "host_dev_name": "tap0", "guest_mac": "zz:00:00:00:00:00"}"#, "guest_mac"),
            (#"{"iface_id": "eth0", "host_dev_name": "tap0", "mtu": 9000}"#, "mtu"),
        ]
        for (body, expected) in refusals { expectRefusal("PUT", body, saying: expected) }
        #expect(throws: APIFault.self) { try route("PUT", "/network-interfaces/a.b", #"{"iface_id": "a.b", "host_dev_name": "tap0"}"#) }
    }

    @Test func configFileSectionIsAppliedAfterTheDrives() throws {
        let text = #"""
            {"boot-source": {"kernel_image_path": "/k"},
             "network-interfaces": [{"iface_id": "eth0", "host_dev_name": "tap0", "guest_mac": "02:00:00:00:00:09"}]}
            """#
        let config = try FirecrackerConfigFile(parsing: Array(text.utf8))
        #expect(config.networkInterfaces == [NetworkInterface(interfaceID: "eth0", hostDeviceName: "tap0", guestMAC: MACAddress("02:00:00:00:00:09"))])
        let backend = FakeBackend()
        try config.apply(to: backend)
        #expect(backend.calls.last == .networkInterface(config.networkInterfaces[0]))
        // And it round-trips through GET /vm/config's shape.
        let shown = VMConfiguration(bootSource: config.bootSource, networkInterfaces: config.networkInterfaces).jsonValue
        #expect(try FirecrackerConfigFile(parsing: Array(shown.serialized().utf8)).networkInterfaces == config.networkInterfaces)
    }

    @Test func snapshotLoadTakesNetworkOverrides() throws {
        let body = #"""
            {"snapshot_path": "/s", "mem_file_path": "/m",
             "network_overrides": [{"iface_id": "eth0", "host_dev_name": "tap7"}]}
            """#
        guard case .loadSnapshot(let request) = try route("PUT", "/snapshot/load", body) else {
            Issue.record("not a snapshot load")
            return
        }
        #expect(request.networkOverrides == [NetworkOverrideRequest(interfaceID: "eth0", hostDeviceName: "tap7")])
        let twice = #"{"snapshot_path": "/s", "mem_file_path": "/m", "network_overrides": [{"iface_id": "a", "host_dev_name": "t"}, {"iface_id": "a", "host_dev_name": "u"}]}"#
        #expect(throws: APIFault.self) { try route("PUT", "/snapshot/load", twice) }
    }
}
