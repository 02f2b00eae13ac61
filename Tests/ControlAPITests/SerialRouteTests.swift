@testable import ControlAPI
import Testing

@Suite("PUT /serial")
struct SerialRouteTests {
    private func refusal(_ body: String) -> String {
        do {
            let request = try APIRouter.route(method: "PUT", target: "/serial", body: Array(body.utf8))
            Issue.record("accepted \(body) as \(request)")
            return ""
        } catch {
            return error.message
        }
    }

    @Test func bodies() throws {
        #expect(
            try APIRouter.route(method: "PUT", target: "/serial", body: Array(#"{"serial_out_path": "/tmp/console"}"#.utf8))
                == .putSerial(SerialConfig(serialOutPath: "/tmp/console")))
        #expect(try APIRouter.route(method: "PUT", target: "/serial", body: Array("{}".utf8)) == .putSerial(SerialConfig()))
        #expect(refusal(#"{"serial_out_path": ""}"#).contains("'serial_out_path' must not be empty"))
        #expect(refusal(#"{"serial_out_path": 1}"#).contains("'serial_out_path' must be a string"))
        #expect(refusal(#"{"path": "/x"}"#).contains("Invalid serial: unknown field 'path'"))
        #expect(refusal("[").contains("serial request body"))
    }

    @Test func beforeBootOnlyAndInVMConfig() throws {
        let running = try RunningServer()
        let client = running.client
        #expect(try client.put("/serial", body: #"{"serial_out_path": "/tmp/c"}"#).status == 204)
        _ = try client.put("/boot-source", body: #"{"kernel_image_path": "/k"}"#)
        guard case .object(let sections)? = try client.get("/vm/config").json else { Issue.record("no object"); return }
        #expect(sections["serial"] == .object(["serial_out_path": .string("/tmp/c")]))
        // GET /vm/config is a config file that sets the same.
        #expect(try FirecrackerConfigFile(parsing: try client.get("/vm/config").body).serial == SerialConfig(serialOutPath: "/tmp/c"))

        _ = try client.put("/actions", body: #"{"action_type": "InstanceStart"}"#)
        let late = try client.put("/serial", body: #"{"serial_out_path": "/tmp/d"}"#)
        #expect(late.status == 400)
        #expect(late.json == .object(["fault_message": .string("The requested operation is not supported after starting the microVM.")]))
    }

    @Test func configFileSection() throws {
        let text = #"{"boot-source": {"kernel_image_path": "/k"}, "serial": {"serial_out_path": "/var/console"}}"#
        let config = try FirecrackerConfigFile(parsing: Array(text.utf8))
        let backend = FakeBackend()
        try config.apply(to: backend)
        #expect(backend.calls.first == .serial(SerialConfig(serialOutPath: "/var/console")))
    }
}
