@testable import ControlAPI
import Testing

@Suite("PUT /logger, PUT /metrics and the API request counters")
struct LoggerMetricsTests {
    private func route(_ method: String, _ path: String, _ body: String = "") throws(APIFault) -> APIRequest {
        try APIRouter.route(method: method, target: path, body: Array(body.utf8))
    }

    private func refusal(_ method: String, _ path: String, _ body: String) -> String {
        do {
            let request = try route(method, path, body)
            Issue.record("accepted \(body) as \(request)")
            return ""
        } catch {
            return error.message
        }
    }

    @Test func loggerBodies() throws {
        #expect(
            try route("PUT", "/logger", #"{"log_path": "/tmp/fc.log", "level": "Info", "show_level": true, "show_log_origin": false}"#)
                == .putLogger(LoggerConfig(logPath: "/tmp/fc.log", level: .info, showLevel: true, showLogOrigin: false)))
        // Every field is optional, and levels are read in any case, as Firecracker reads them.
        #expect(try route("PUT", "/logger", #"{"level": "WARNING"}"#) == .putLogger(LoggerConfig(level: .warning)))
        #expect(try route("PUT", "/logger", "{}") == .putLogger(LoggerConfig()))

        #expect(refusal("PUT", "/logger", #"{"level": "Loud"}"#).contains("unknown level 'Loud'; expected Error, Warning"))
        #expect(refusal("PUT", "/logger", #"{"log_path": ""}"#).contains("'log_path' must not be empty"))
        #expect(refusal("PUT", "/logger", #"{"log_path": 3}"#).contains("'log_path' must be a string"))
        #expect(refusal("PUT", "/logger", #"{"module": "api_server"}"#).contains("filtering the log by module"))
        #expect(refusal("PUT", "/logger", #"{"logpath": "/x"}"#).contains("unknown field 'logpath'"))
        #expect(refusal("PUT", "/logger", #"{"log_path": "/x""#).contains("logger request body"))
    }

    @Test func metricsBodies() throws {
        #expect(try route("PUT", "/metrics", #"{"metrics_path": "/tmp/m.fifo"}"#) == .putMetrics(MetricsConfig(metricsPath: "/tmp/m.fifo")))
        #expect(refusal("PUT", "/metrics", "{}").contains("missing required field 'metrics_path'"))
        #expect(refusal("PUT", "/metrics", #"{"metrics_path": ""}"#).contains("must not be empty"))
        #expect(refusal("PUT", "/metrics", #"{"metrics_path": "/m", "extra": 1}"#).contains("unknown field 'extra'"))
    }

    @Test func logLevelNames() {
        #expect(LogLevel(name: "Trace") == .trace)
        #expect(LogLevel(name: "off") == .off)
        #expect(LogLevel(name: "verbose") == nil)
        #expect(LogLevel.warning.firecrackerName == "Warning")
    }

    @Test func requestsAreCountedByGroupWithTheirFailures() throws {
        let backend = FakeBackend()
        let counters = try #require(backend.apiRequestCounters)
        #expect(APIRequest.putLogger(LoggerConfig(level: .debug)).perform(on: backend).status == 204)
        #expect(APIRequest.putMetrics(MetricsConfig(metricsPath: "/m")).perform(on: backend).status == 204)
        // Metrics are configured once only: the second is a fail.
        #expect(APIRequest.putMetrics(MetricsConfig(metricsPath: "/m")).perform(on: backend).status == 400)
        #expect(APIRequest.getInstanceInfo.perform(on: backend).status == 200)
        #expect(APIRequest.instanceStart.perform(on: backend).status == 400, "no boot source")
        #expect(APIRequest.pause.perform(on: backend).status == 400, "not started")

        let snapshot = counters.snapshot
        #expect(snapshot["put_api_requests"] == [
            "logger_count": 1, "metrics_count": 2, "metrics_fails": 1, "actions_count": 1, "actions_fails": 1,
        ])
        #expect(snapshot["get_api_requests"] == ["instance_info_count": 1])
        #expect(snapshot["patch_api_requests"] == ["vm_count": 1, "vm_fails": 1])
    }

    @Test func loggerAndMetricsOverTheSocketAndInVMConfig() throws {
        let running = try RunningServer()
        let client = running.client
        #expect(try client.put("/logger", body: #"{"log_path": "/l", "level": "Debug"}"#).status == 204)
        #expect(try client.put("/metrics", body: #"{"metrics_path": "/m"}"#).status == 204)
        let again = try client.put("/metrics", body: #"{"metrics_path": "/m2"}"#)
        #expect(again.status == 400)
        #expect(again.json == .object(["fault_message": .string("Reinitialization of metrics not allowed.")]))

        guard case .object(let sections)? = try client.get("/vm/config").json else { Issue.record("no object"); return }
        #expect(sections["logger"] == .object(["log_path": .string("/l"), "level": .string("Debug"), "show_level": .null, "show_log_origin": .null]))
        #expect(sections["metrics"] == .object(["metrics_path": .string("/m")]))
        #expect(sections["balloon"] == .null)

        _ = try client.put("/boot-source", body: #"{"kernel_image_path": "/k"}"#)
        _ = try client.put("/actions", body: #"{"action_type": "InstanceStart"}"#)
        let late = try client.put("/logger", body: #"{"level": "Info"}"#)
        #expect(late.status == 400)
        #expect(late.json == .object(["fault_message": .string("The requested operation is not supported after starting the microVM.")]))
        #expect(try client.put("/actions", body: #"{"action_type": "FlushMetrics"}"#).status == 204)
    }

    @Test func configFileSectionsAreAppliedFirst() throws {
        let text = #"""
            {"boot-source": {"kernel_image_path": "/k"},
             "logger": {"log_path": "/var/log/fc.log", "level": "Warning", "show_level": false},
             "metrics": {"metrics_path": "/var/log/fc.metrics"}}
            """#
        let config = try FirecrackerConfigFile(parsing: Array(text.utf8))
        let backend = FakeBackend()
        try config.apply(to: backend)
        #expect(backend.calls == [
            .logger(LoggerConfig(logPath: "/var/log/fc.log", level: .warning, showLevel: false)),
            .metrics(MetricsConfig(metricsPath: "/var/log/fc.metrics")),
            .bootSource(BootSource(kernelImagePath: "/k")),
        ])
        // Empty sections still configure nothing.
        let empty = try FirecrackerConfigFile(parsing: Array(#"{"boot-source": {"kernel_image_path": "/k"}, "logger": {}, "metrics": {}}"#.utf8))
        #expect(empty.logger == nil && empty.metrics == nil)
        do {
            _ = try FirecrackerConfigFile(parsing: Array(#"{"boot-source": {"kernel_image_path": "/k"}, "metrics": {"path": "/m"}}"#.utf8))
            Issue.record("accepted a metrics section without metrics_path")
        } catch {
            #expect(error.message.contains("Invalid metrics: missing required field 'metrics_path'"), "\(error.message)")
        }
    }
}
