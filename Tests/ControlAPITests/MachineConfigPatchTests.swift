@testable import ControlAPI
import Testing

@Suite("PATCH /machine-config")
struct MachineConfigPatchTests {
    private func route(_ body: String) throws(APIFault) -> APIRequest {
        try APIRouter.route(method: "PATCH", target: "/machine-config", body: Array(body.utf8))
    }

    private func refusal(_ body: String) -> String {
        do {
            let request = try route(body)
            Issue.record("accepted \(body) as \(request)")
            return ""
        } catch {
            return error.message
        }
    }

    @Test func bodies() throws {
        #expect(try route(#"{"vcpu_count": 2}"#) == .patchMachineConfig(MachineConfigUpdate(vcpuCount: 2)))
        #expect(try route(#"{"mem_size_mib": 256, "smt": false}"#) == .patchMachineConfig(MachineConfigUpdate(memSizeMiB: 256)))
        #expect(refusal("{}") == "Empty PATCH request.")
        #expect(refusal(#"{"vcpu_count": 0}"#).contains("Invalid machine-config: vcpu_count must be between 1 and"))
        #expect(refusal(#"{"mem_size_mib": "big"}"#).contains("'mem_size_mib' must be an integer"))
        #expect(refusal(#"{"smt": true}"#).contains("simultaneous multithreading"))
        #expect(refusal(#"{"vcpus": 2}"#).contains("unknown field 'vcpus'"))
        #expect(refusal(#"{"vcpu_count": 2"#).contains("machine-config request body"))
    }

    @Test func changesOnlyTheGivenFields() {
        let current = MachineConfig(vcpuCount: 2, memSizeMiB: 512)
        #expect(MachineConfigUpdate(memSizeMiB: 64).applied(to: current) == MachineConfig(vcpuCount: 2, memSizeMiB: 64))
        #expect(MachineConfigUpdate(vcpuCount: 4).applied(to: current) == MachineConfig(vcpuCount: 4, memSizeMiB: 512))
    }

    @Test func beforeBootOnlyOverTheSocket() throws {
        let running = try RunningServer()
        let client = running.client
        _ = try client.checked(method: "PUT", path: "/machine-config", json: .object(["vcpu_count": .integer(2), "mem_size_mib": .integer(256)]))
        #expect(try client.send(method: "PATCH", path: "/machine-config", body: #"{"mem_size_mib": 1024}"#).status == 204)
        guard case .object(let machine)? = try client.get("/machine-config").json else { Issue.record("no object"); return }
        #expect(machine["vcpu_count"] == .integer(2), "untouched")
        #expect(machine["mem_size_mib"] == .integer(1024))

        let empty = try client.send(method: "PATCH", path: "/machine-config", body: "{}")
        #expect(empty.status == 400)
        #expect(empty.json == .object(["fault_message": .string("Empty PATCH request.")]))

        _ = try client.put("/boot-source", body: #"{"kernel_image_path": "/k"}"#)
        _ = try client.put("/actions", body: #"{"action_type": "InstanceStart"}"#)
        let late = try client.send(method: "PATCH", path: "/machine-config", body: #"{"vcpu_count": 1}"#)
        #expect(late.status == 400)
        #expect(late.json == .object(["fault_message": .string("The requested operation is not supported after starting the microVM.")]))
        guard case .object(let after)? = try client.get("/machine-config").json else { Issue.record("no object"); return }
        #expect(after["vcpu_count"] == .integer(2), "a refused PATCH changes nothing")
    }
}
