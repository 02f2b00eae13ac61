@testable import ControlAPI
import Testing

@Suite("The vsock device in the API and config files")
struct VsockAPITests {
    private func route(_ body: String) throws(APIFault) -> APIRequest {
        try APIRouter.route(method: "PUT", target: "/vsock", body: Array(body.utf8))
    }

    @Test func putVsockCarriesCIDPathAndOptionalID() throws {
        #expect(try route(#"{"guest_cid": 3, "uds_path": "/run/v.sock"}"#) == .putVsock(VsockDevice(guestCID: 3, udsPath: "/run/v.sock")))
        #expect(
            try route(#"{"vsock_id": "vsock0", "guest_cid": 4294967294, "uds_path": "/v"}"#)
                == .putVsock(VsockDevice(vsockID: "vsock0", guestCID: 0xFFFF_FFFE, udsPath: "/v")))
    }

    @Test func putVsockRefusesBadValues() {
        let refusals = [
            (#"{"guest_cid": 2, "uds_path": "/v"}"#, "guest_cid must be between 3 and 4294967294 (got 2"),
            (#"{"guest_cid": 4294967295, "uds_path": "/v"}"#, "guest_cid must be between"),
            (#"{"guest_cid": -1, "uds_path": "/v"}"#, "must not be negative"),
            (#"{"guest_cid": "3", "uds_path": "/v"}"#, "'guest_cid' must be an integer"),
            (#"{"guest_cid": 3}"#, "missing required field 'uds_path'"),
            (#"{"guest_cid": 3, "uds_path": ""}"#, "uds_path"),
            (#"{"guest_cid": 3, "uds_path": "/v", "port": 1}"#, "unknown field 'port'"),
        ]
        for (body, expected) in refusals {
            do {
                let request = try route(body)
                Issue.record("accepted \(body) as \(request)")
            } catch {
                #expect(error.message.contains(expected), "'\(error.message)' lacks '\(expected)'")
            }
        }
    }

    @Test func configFileSectionIsAppliedLastAndRoundTrips() throws {
        let text = #"""
            {"boot-source": {"kernel_image_path": "/k"},
             "network-interfaces": [{"iface_id": "eth0", "host_dev_name": "tap0"}],
             "vsock": {"guest_cid": 3, "uds_path": "/tmp/v.sock"}}
            """#
        let config = try FirecrackerConfigFile(parsing: Array(text.utf8))
        #expect(config.vsock == VsockDevice(guestCID: 3, udsPath: "/tmp/v.sock"))
        let backend = FakeBackend()
        try config.apply(to: backend)
        #expect(backend.calls.last == .vsock(VsockDevice(guestCID: 3, udsPath: "/tmp/v.sock")))
        let shown = VMConfiguration(bootSource: config.bootSource, vsock: config.vsock).jsonValue
        #expect(try FirecrackerConfigFile(parsing: Array(shown.serialized().utf8)).vsock == config.vsock)
    }

    @Test func anEmptyOrNullSectionConfiguresNothing() throws {
        for section in ["null", "{}"] {
            let text = #"{"boot-source": {"kernel_image_path": "/k"}, "vsock": "# + section + "}"
            #expect(try FirecrackerConfigFile(parsing: Array(text.utf8)).vsock == nil)
        }
    }

    @Test func theDefaultBackendRefusesVsock() {
        let request = APIRequest.putVsock(VsockDevice(guestCID: 3, udsPath: "/v"))
        #expect(request.perform(on: MinimalBackend()).status == 400)
    }
}

/// A backend that implements only what the protocol requires, to see its defaults.
private struct MinimalBackend: VMMBackend {
    func instanceInfo() throws -> InstanceInfo { throw VMMError("unused") }
    func vmConfiguration() throws -> VMConfiguration { VMConfiguration() }
    func setMachineConfig(_ config: MachineConfig) throws {}
    func setBootSource(_ bootSource: BootSource) throws {}
    func putDrive(_ drive: Drive) throws {}
    func instanceStart() throws {}
    func sendCtrlAltDel() throws {}
    func pause() throws {}
    func resume() throws {}
    func createSnapshot(_ files: SnapshotFiles) throws {}
    func loadSnapshot(_ request: SnapshotLoadRequest) throws {}
}
