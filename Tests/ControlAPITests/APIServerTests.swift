@testable import ControlAPI
import Foundation
import Testing
import SwiftletCore

@Suite("API server over a Unix socket")
struct APIServerTests {
    @Test func configureBootPauseSnapshotResume() throws {
        let running = try RunningServer()
        let client = running.client

        let info = try client.get("/")
        #expect(info.status == 200)
        #expect(info.headers["content-type"] == "application/json")
        #expect(info.json == .object([
            "id": .string("fake-vm"), "state": .string("Not started"),
            "vmm_version": .string("0.1.0-test"), "app_name": .string("Swiftlet"),
        ]))

        #expect(try client.put("/machine-config", body: #"{"vcpu_count": 2, "mem_size_mib": 256}"#).status == 204)
        #expect(try client.put("/boot-source", body: #"{"kernel_image_path": "/k", "boot_args": "console=ttyS0"}"#).status == 204)
        #expect(try client.put("/drives/rootfs", body: #"{"drive_id": "rootfs", "path_on_host": "/r", "is_root_device": true}"#).status == 204)
        let started = try client.put("/actions", body: #"{"action_type": "InstanceStart"}"#)
        #expect(started.status == 204)
        #expect(started.body.isEmpty)
        #expect(try client.get("/").json.flatMap(state) == "Running")

        #expect(try client.patch("/vm", json: .object(["state": .string("Paused")])).status == 204)
        #expect(try client.get("/").json.flatMap(state) == "Paused")
        #expect(try client.put("/snapshot/create", body: #"{"snapshot_path": "/s", "mem_file_path": "/m"}"#).status == 204)
        #expect(try client.patch("/vm", json: .object(["state": .string("Resumed")])).status == 204)
        #expect(try client.put("/actions", body: #"{"action_type": "SendCtrlAltDel"}"#).status == 204)
        #expect(try client.put("/actions", body: #"{"action_type": "FlushMetrics"}"#).status == 204)

        #expect(running.backend.calls == [
            .machineConfig(MachineConfig(vcpuCount: 2, memSizeMiB: 256)),
            .bootSource(BootSource(kernelImagePath: "/k", bootArgs: "console=ttyS0")),
            .drive(Drive(driveID: "rootfs", pathOnHost: "/r", isRootDevice: true)),
            .instanceStart, .pause,
            .createSnapshot(SnapshotFiles(snapshotPath: "/s", memFilePath: "/m")),
            .resume, .sendCtrlAltDel, .flushMetrics,
        ])
    }

    @Test func vmConfigAndVersion() throws {
        let running = try RunningServer()
        let client = running.client
        _ = try client.checked(method: "PUT", path: "/boot-source", json: .object(["kernel_image_path": .string("/k")]))
        _ = try client.checked(
            method: "PUT", path: "/drives/d1",
            json: .object(["drive_id": .string("d1"), "path_on_host": .string("/img"), "is_root_device": .bool(false)]))
        let config = try #require(try client.get("/vm/config").json)
        guard case .object(let sections) = config else { Issue.record("not an object: \(config)"); return }
        #expect(sections["boot-source"] == .object([
            "kernel_image_path": .string("/k"), "boot_args": .null, "initrd_path": .null,
        ]))
        guard case .array(let drives)? = sections["drives"], case .object(let drive)? = drives.first else {
            Issue.record("no drives in \(config)")
            return
        }
        #expect(drive["drive_id"] == .string("d1"))
        #expect(drive["is_read_only"] == .bool(false))
        guard case .object(let machine)? = sections["machine-config"] else { Issue.record("no machine-config"); return }
        #expect(machine["vcpu_count"] == .integer(1))
        #expect(machine["mem_size_mib"] == .integer(128))

        // What GET /vm/config returns is a valid config file.
        let reparsed = try FirecrackerConfigFile(parsing: try client.get("/vm/config").body)
        #expect(reparsed.bootSource == BootSource(kernelImagePath: "/k"))
        #expect(reparsed.drives == [Drive(driveID: "d1", pathOnHost: "/img", isRootDevice: false)])

        let version = try client.get("/version")
        #expect(version.json == .object(["firecracker_version": .string("0.1.0-test"), "vmm_version": .string("0.1.0-test")]))
        #expect(try client.get("/machine-config").json == sections["machine-config"])
    }

    @Test func wrongStateCallsReturnTheBackendsFault() throws {
        let running = try RunningServer()
        let client = running.client

        let early = try client.put("/snapshot/create", body: #"{"snapshot_path": "/s", "mem_file_path": "/m"}"#)
        #expect(early.status == 400)
        #expect(early.faultMessage?.contains("has not been started") == true)
        #expect(try client.patch("/vm", json: .object(["state": .string("Paused")])).faultMessage?.contains("before starting") == true)
        let noKernel = try client.put("/actions", body: #"{"action_type": "InstanceStart"}"#)
        #expect(noKernel.faultMessage?.contains("without a boot source") == true)

        _ = try client.checked(method: "PUT", path: "/boot-source", json: .object(["kernel_image_path": .string("/k")]))
        let load = try client.put("/snapshot/load", body: #"{"snapshot_path": "/s", "mem_file_path": "/m"}"#)
        #expect(load.status == 400)
        #expect(load.faultMessage?.contains("after configuring") == true)

        _ = try client.checked(method: "PUT", path: "/actions", json: .object(["action_type": .string("InstanceStart")]))
        let late = try client.put("/machine-config", body: #"{"vcpu_count": 1, "mem_size_mib": 64}"#)
        #expect(late.status == 400)
        #expect(late.faultMessage == "The requested operation is not supported after starting the microVM.")
        let running2 = try client.put("/snapshot/create", body: #"{"snapshot_path": "/s", "mem_file_path": "/m"}"#)
        #expect(running2.faultMessage?.contains("not paused") == true)

        // `checked` turns the refusal into an error carrying the fault message.
        #expect(throws: APIClientError.self) {
            try client.checked(method: "PUT", path: "/actions", json: .object(["action_type": .string("InstanceStart")]))
        }
        do {
            _ = try client.checked(method: "PUT", path: "/actions", json: .object(["action_type": .string("InstanceStart")]))
        } catch {
            #expect(error.status == 400)
            #expect(error.message.contains("InstanceStart can only be called once"))
        }
    }

    @Test func loadSnapshotOnFreshVMM() throws {
        let running = try RunningServer()
        let response = try running.client.put(
            "/snapshot/load",
            body: #"{"snapshot_path": "/s", "mem_backend": {"backend_type": "File", "backend_path": "/m"}, "resume_vm": true}"#)
        #expect(response.status == 204)
        #expect(running.backend.calls == [.loadSnapshot(SnapshotLoadRequest(files: SnapshotFiles(snapshotPath: "/s", memFilePath: "/m"), resumeVM: true))])
        #expect(try running.client.get("/").json.flatMap(state) == "Running")
        let again = try running.client.put("/snapshot/load", body: #"{"snapshot_path": "/s", "mem_file_path": "/m"}"#)
        #expect(again.faultMessage?.contains("fresh VMM") == true)
    }

    @Test func invalidRequestsNeverReachTheBackend() throws {
        let running = try RunningServer()
        let client = running.client
        let cases: [(String, String, String?)] = [
            ("PUT", "/machine-config", "{not json"),
            ("PUT", "/machine-config", #"{"vcpu_count": "1", "mem_size_mib": 128}"#),
            ("PUT", "/machine-config", #"{"vcpu_count": 1}"#),
            ("PUT", "/machine-config", #"{"vcpu_count": 1, "mem_size_mib": 128, "extra": 1}"#),
            ("PUT", "/boot-source", nil),
            ("GET", "/unknown", nil),
            ("DELETE", "/vm", nil),
            ("PUT", "/snapshot/create", #"{"snapshot_path": "/s", "mem_file_path": "/m", "snapshot_type": "Half"}"#),
        ]
        for (method, path, body) in cases {
            let response = try client.send(method: method, path: path, body: body)
            #expect(response.status == 400, "\(method) \(path)")
            #expect(response.headers["content-type"] == "application/json")
            #expect(response.faultMessage?.isEmpty == false, "\(method) \(path): \(response.bodyText)")
        }
        #expect(try client.get("/nothing/here").faultMessage == "Invalid request method and/or path: GET /nothing/here.")
        #expect(running.backend.calls.isEmpty)
    }

    @Test func malformedHTTPGetsA400OrAClosedConnection() throws {
        let running = try RunningServer()
        let garbage = [
            "GARBAGE\r\n\r\n",
            "PUT /actions HTTP/1.1\r\nHost x\r\n\r\n",
            "PUT /actions HTTP/1.1\r\nContent-Length: abc\r\n\r\n",
            "PUT /actions HTTP/9.9\r\n\r\n",
            "\u{0}\u{1}\u{2}\u{3}\r\n\r\n",
            "PUT /actions HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 7\r\n\r\n{}",
        ]
        for request in garbage {
            let answer = try running.raw(request)
            #expect(answer.isEmpty || answer.hasPrefix("HTTP/1.1 400"), "\(request.debugDescription) -> \(answer.debugDescription)")
        }
        // The server survives all of it.
        #expect(try running.client.get("/").status == 200)
        #expect(running.backend.calls.isEmpty)
    }

    @Test func oversizedBodiesAreRefusedAndTheConnectionClosed() throws {
        let running = try RunningServer(maxBodyBytes: 1024)
        let big = "{\"kernel_image_path\": \"" + String(repeating: "a", count: 2000) + "\"}"
        let declared = try running.client.put("/boot-source", body: big)
        #expect(declared.status == 413)
        #expect(declared.faultMessage?.contains("1024-byte limit") == true)
        #expect(declared.headers["connection"] == "close")

        // Chunked bodies have no declared length; the limit still applies while reading.
        let chunk = String(repeating: "x", count: 600)
        let chunked = "PUT /boot-source HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
            + "258\r\n\(chunk)\r\n258\r\n\(chunk)\r\n0\r\n\r\n"
        let answer = try running.raw(chunked)
        #expect(answer.hasPrefix("HTTP/1.1 413"), "\(answer)")
        #expect(running.backend.calls.isEmpty)
        #expect(try running.client.put("/boot-source", body: #"{"kernel_image_path": "/k"}"#).status == 204)
    }

    @Test func pipelinedRequestsAreAnsweredInOrder() throws {
        let running = try RunningServer()
        let first = #"{"kernel_image_path": "/k"}"#
        let raw = "PUT /boot-source HTTP/1.1\r\nHost: x\r\nContent-Length: \(first.utf8.count)\r\n\r\n\(first)"
            + "GET /nope HTTP/1.1\r\nHost: x\r\n\r\n"
            + "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        let answer = try running.raw(raw)
        // Bodies carry no trailing newline, so a status line can follow a body directly.
        let statusLines = answer.components(separatedBy: "HTTP/1.1 ").dropFirst().map { String($0.prefix { $0 != "\r\n" }) }  // "\r\n" is one Character
        #expect(statusLines == ["204 No Content", "400 Bad Request", "200 OK"])
        #expect(answer.contains(#""state":"Not started""#))
    }

    @Test func expectContinueIsHonoured() throws {
        let running = try RunningServer()
        let body = #"{"action_type": "FlushMetrics"}"#
        let answer = try running.raw(
            "PUT /actions HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nConnection: close\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)")
        #expect(answer.hasPrefix("HTTP/1.1 100 Continue\r\n"))
        #expect(answer.contains("HTTP/1.1 204 No Content"))
        #expect(running.backend.calls == [.flushMetrics])
    }

    @Test func aBlockingBackendDoesNotStallTheEventLoop() async throws {
        let running = try RunningServer(backend: FakeBackend(pauseDelay: .milliseconds(1500)))
        let client = running.client
        _ = try client.checked(method: "PUT", path: "/boot-source", json: .object(["kernel_image_path": .string("/k")]))
        _ = try client.checked(method: "PUT", path: "/actions", json: .object(["action_type": .string("InstanceStart")]))

        let pausing = Task.detached { try client.patch("/vm", json: .object(["state": .string("Paused")])).status }
        try await Task.sleep(for: .milliseconds(200))
        // Requests that never reach the backend are answered while the pause is in progress.
        let clock = ContinuousClock()
        let started = clock.now
        #expect(try client.get("/nope").status == 400)
        #expect(clock.now - started < .milliseconds(1000))
        #expect(try await pausing.value == 204)
        #expect(try client.get("/").json.flatMap(state) == "Paused")
    }

    @Test func aClientThatHangsUpMidCallDoesNotHurtTheServer() throws {
        let running = try RunningServer(backend: FakeBackend(pauseDelay: .milliseconds(300)))
        let client = running.client
        _ = try client.checked(method: "PUT", path: "/boot-source", json: .object(["kernel_image_path": .string("/k")]))
        _ = try client.checked(method: "PUT", path: "/actions", json: .object(["action_type": .string("InstanceStart")]))
        // Give up long before the pause completes: the answer then has no connection to go to.
        let impatient = APIClient(socketPath: running.directory.socketPath, timeout: .milliseconds(50))
        #expect(throws: APIClientError.self) { try impatient.patch("/vm", json: .object(["state": .string("Paused")])) }
        // A half-sent request, then hang-up.
        _ = try? impatient.exchange(Array("PUT /boot-source HTTP/1.1\r\nContent-Length: 100\r\n\r\n{".utf8))
        #expect(try client.get("/").json.flatMap(state) == "Paused")
        #expect(running.backend.calls.filter { $0 == .pause }.count == 1)
    }

    @Test func stopWaitsForTheCallInProgressToAnswer() async throws {
        let running = try RunningServer(backend: FakeBackend(pauseDelay: .milliseconds(600)))
        let client = running.client
        _ = try client.checked(method: "PUT", path: "/boot-source", json: .object(["kernel_image_path": .string("/k")]))
        _ = try client.checked(method: "PUT", path: "/actions", json: .object(["action_type": .string("InstanceStart")]))
        let pausing = Task.detached { try client.patch("/vm", json: .object(["state": .string("Paused")])).status }
        try await Task.sleep(for: .milliseconds(200))
        running.server.stop()
        #expect(!FileManager.default.fileExists(atPath: running.directory.socketPath))
        #expect(try await pausing.value == 204)
    }

    @Test func aBackendCallCanStopTheServer() throws {
        let running = try RunningServer()
        let server = running.server
        running.backend.ctrlAltDelHook.withLock { $0 = { server.stop() } }
        _ = try running.client.checked(method: "PUT", path: "/boot-source", json: .object(["kernel_image_path": .string("/k")]))
        _ = try running.client.checked(method: "PUT", path: "/actions", json: .object(["action_type": .string("InstanceStart")]))
        // Stopping from inside the call must not deadlock, and the call still gets its answer.
        #expect(try running.client.put("/actions", body: #"{"action_type": "SendCtrlAltDel"}"#).status == 204)
        #expect(!server.isRunning)
        #expect(throws: APIClientError.self) { try running.client.get("/") }
    }

    private func state(_ json: JSONValue) -> String? {
        guard case .object(let members) = json, case .string(let state)? = members["state"] else { return nil }
        return state
    }
}
