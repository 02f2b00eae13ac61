@testable import ControlAPI
import Testing

@Suite("PUT /entropy")
struct EntropyRouteTests {
    private func refusal(_ body: String) -> String {
        do {
            let request = try APIRouter.route(method: "PUT", target: "/entropy", body: Array(body.utf8))
            Issue.record("accepted \(body) as \(request)")
            return ""
        } catch {
            return error.message
        }
    }

    @Test func bodies() throws {
        #expect(try APIRouter.route(method: "PUT", target: "/entropy", body: Array("{}".utf8)) == .putEntropy(EntropyDevice()))
        #expect(try APIRouter.route(method: "PUT", target: "/entropy", body: Array(#"{"rate_limiter": null}"#.utf8)) == .putEntropy(EntropyDevice()))
        #expect(refusal(#"{"rate_limiter": {"bandwidth": {"size": 1000, "refill_time": 100}}}"#).contains("Invalid entropy: rate limiting"))
        #expect(refusal(#"{"rng": 1}"#).contains("Invalid entropy: unknown field 'rng'"))
        #expect(refusal("").contains("entropy request body"))
    }

    @Test func beforeBootOnlyAndInVMConfig() throws {
        let running = try RunningServer()
        let client = running.client
        guard case .object(let before)? = try client.get("/vm/config").json else { Issue.record("no object"); return }
        #expect(before["entropy"] == .null)
        #expect(try client.put("/entropy", body: "{}").status == 204)
        _ = try client.put("/boot-source", body: #"{"kernel_image_path": "/k"}"#)
        guard case .object(let sections)? = try client.get("/vm/config").json else { Issue.record("no object"); return }
        #expect(sections["entropy"] == .object(["rate_limiter": .null]))
        #expect(try FirecrackerConfigFile(parsing: try client.get("/vm/config").body).entropy == EntropyDevice())

        _ = try client.put("/actions", body: #"{"action_type": "InstanceStart"}"#)
        let late = try client.put("/entropy", body: "{}")
        #expect(late.status == 400)
        #expect(late.json == .object(["fault_message": .string("The requested operation is not supported after starting the microVM.")]))
    }

    @Test func configFileSection() throws {
        let backend = FakeBackend()
        try FirecrackerConfigFile(parsing: Array(#"{"boot-source": {"kernel_image_path": "/k"}, "entropy": {}}"#.utf8)).apply(to: backend)
        #expect(backend.calls.last == .entropy(EntropyDevice()))
        let none = try FirecrackerConfigFile(parsing: Array(#"{"boot-source": {"kernel_image_path": "/k"}, "entropy": null}"#.utf8))
        #expect(none.entropy == nil)
    }
}
