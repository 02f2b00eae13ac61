import Foundation
import Testing

/// Swiftlet started as `firecracker` through a symlink, the way a launcher written for
/// Firecracker starts it: Firecracker's flags, its exit codes, virtio-mmio by default.
@Suite(.serialized) struct FirecrackerModeTests {
    let directory: URL
    let firecracker: URL

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("swiftlet-fc-\(getpid())-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        firecracker = directory.appendingPathComponent("firecracker")
        try FileManager.default.createSymbolicLink(at: firecracker, withDestinationURL: SwiftletProcess.executable)
    }

    func run(_ arguments: [String]) throws -> SwiftletProcess.Result {
        try SwiftletProcess.run(arguments, program: firecracker)
    }

    /// A configuration file booting the tiny guest's `test` scenario with one root drive.
    func configFile(test: String, disk: URL, kernel: String? = nil) throws -> String {
        let path = directory.appendingPathComponent("\(test).json").path
        let json = """
            {"boot-source": {"kernel_image_path": "\(try kernel ?? TestGuest.path())", "boot_args": "test=\(test)"},
             "drives": [{"drive_id": "rootfs", "path_on_host": "\(disk.path)", "is_root_device": true, "is_read_only": false}],
             "machine-config": {"vcpu_count": 1, "mem_size_mib": 64}}
            """
        #expect(FileManager.default.createFile(atPath: path, contents: Data(json.utf8)))
        return path
    }

    @Test func versionNamesTheFirecrackerReleaseFirstAndSwiftletToo() throws {
        let result = try run(["--version"])
        #expect(result.status == 0)
        let first = try #require(result.lines.first)
        // What launchers parse: "Firecracker v<major>.<minor>.<patch>".
        #expect(first.wholeMatch(of: /Firecracker v\d+\.\d+\.\d+/) != nil, "\(first)")
        #expect(result.stdout.contains("Swiftlet"))
        #expect(try run(["--help"]).status == 0)
        // A file that is not a snapshot state file cannot be described.
        let notASnapshot = try run(["--describe-snapshot", SwiftletProcess.executable.path])
        #expect(notASnapshot.status == 1)
        #expect(notASnapshot.stderr.contains("not a Swiftlet snapshot"), "\(notASnapshot.stderr)")
    }

    @Test func argumentErrorsExitWithFirecrackersArgParsingCode() throws {
        #expect(try run(["--no-api"]).status == 153, "--no-api needs --config-file")
        #expect(try run(["--bogus-flag"]).status == 153)
        #expect(try run(["--http-api-max-payload-size", "lots"]).status == 153)
        // Without the symlink, Firecracker's flags and no subcommand mean the same mode.
        let plain = try SwiftletProcess.run(["--no-api"])
        #expect(plain.status == 153, "\(plain.stderr)")
    }

    @Test func noAPIConfigFileBootsTheGuestOverVirtioMMIO() throws {
        let disk = try DiskTests.makeDisk("fc-blk")
        defer { try? FileManager.default.removeItem(at: disk) }
        let config = try configFile(test: "blk", disk: disk)
        // The jailer's and launchers' extra flags are accepted.
        let result = try run([
            "--no-api", "--config-file", config, "--id", "vm1", "--level", "Info", "--show-level", "--show-log-origin",
            "--start-time-us", "12", "--start-time-cpu-us", "3", "--parent-cpu-time-us", "4", "--no-seccomp", "--boot-timer",
        ])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.lines.contains("blk: ok"), "\(result.stdout)")
        #expect(result.stderr.contains("virtio_mmio.device=4K@0xd0000000:5"), "the log names the command line: \(result.stderr)")
        // The root drive is announced as Firecracker does.
        #expect(result.stderr.contains("test=blk root=/dev/vda rw"), "\(result.stderr)")
        let pci = try run(["--no-api", "--config-file", config, "--enable-pci", "--level", "info"])
        #expect(pci.lines.contains("blk: ok"), "\(pci.stdout)")
        #expect(!pci.stderr.contains("virtio_mmio.device="), "\(pci.stderr)")
    }

    /// Every line of a metrics file, each a JSON object.
    func metricsLines(_ url: URL) throws -> [[String: Any]] {
        let text = try String(contentsOf: url, encoding: .utf8)
        return try text.split(separator: "\n").map { line in
            try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "not a JSON object: \(line)")
        }
    }

    /// The sum of one counter over all lines (each line holds the increase since the previous).
    func total(_ lines: [[String: Any]], _ group: String, _ name: String) -> Int {
        lines.reduce(0) { $0 + (($1[group] as? [String: Any])?[name] as? Int ?? 0) }
    }

    @Test func loggerMetricsAndSerialSectionsWriteTheirFiles() throws {
        let disk = try DiskTests.makeDisk("fc-metrics")
        defer { try? FileManager.default.removeItem(at: disk) }
        let log = directory.appendingPathComponent("fc.log"), metrics = directory.appendingPathComponent("fc.metrics")
        let console = directory.appendingPathComponent("fc.console")
        let path = directory.appendingPathComponent("observed.json").path
        let json = """
            {"boot-source": {"kernel_image_path": "\(try TestGuest.path())", "boot_args": "test=blk"},
             "drives": [{"drive_id": "rootfs", "path_on_host": "\(disk.path)", "is_root_device": true, "is_read_only": false}],
             "logger": {"log_path": "\(log.path)", "level": "Info", "show_log_origin": true},
             "metrics": {"metrics_path": "\(metrics.path)"},
             "serial": {"serial_out_path": "\(console.path)"}}
            """
        #expect(FileManager.default.createFile(atPath: path, contents: Data(json.utf8)))
        let result = try run(["--no-api", "--config-file", path])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(!result.stdout.contains("blk:"), "the console went to serial_out_path: \(result.stdout)")
        let consoleText = try String(contentsOf: console, encoding: .utf8)
        #expect(consoleText.contains("blk: ok"), "\(consoleText)")
        let logged = try String(contentsOf: log, encoding: .utf8)
        #expect(logged.contains("kernel command line"), "\(logged)")
        #expect(logged.contains("[MachineBackend.swift:"), "show_log_origin puts the source in each line: \(logged)")
        #expect(!result.stderr.contains("kernel command line"), "the log went to the file: \(result.stderr)")
        // Swiftlet writes a last line when it ends, with what the guest did.
        let lines = try metricsLines(metrics)
        #expect(!lines.isEmpty)
        #expect(lines.allSatisfy { $0["utc_timestamp_ms"] is Int })
        #expect(total(lines, "block_rootfs", "read_count") > 0)
        #expect(total(lines, "block_rootfs", "read_bytes") >= 512 * total(lines, "block_rootfs", "read_count"))
        #expect(total(lines, "block", "write_bytes") == total(lines, "block_rootfs", "write_bytes"))
        #expect(total(lines, "uart", "write_count") == consoleText.utf8.count)
        #expect(total(lines, "uart", "missed_write_count") == 0)
        #expect(total(lines, "vcpu", "exit_mmio_write") > 0, "the driver wrote virtio-mmio registers")
        #expect(total(lines, "vcpu", "exit_io_out") > 0, "the console is port I/O")
    }

    /// Firecracker's default command line (its boot_source.rs), which a launcher sending no
    /// boot_args relies on.
    static let firecrackerDefaultCommandLine = "reboot=k panic=1 pci=off nomodule 8250.nr_uarts=0 i8042.noaux i8042.nomux i8042.nopnp i8042.dumbkbd"

    @Test func withoutBootArgsTheKernelGetsFirecrackersDefault() throws {
        let path = directory.appendingPathComponent("no-args.json").path
        let json = #"{"boot-source": {"kernel_image_path": "\#(try TestGuest.path())"}}"#
        #expect(FileManager.default.createFile(atPath: path, contents: Data(json.utf8)))
        let result = try run(["--no-api", "--config-file", path, "--level", "Info"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.contains("kernel command line: \(Self.firecrackerDefaultCommandLine)\n"), "\(result.stderr)")
        // With the devices on PCI, pci=off would hide them.
        let pci = try run(["--no-api", "--config-file", path, "--level", "Info", "--enable-pci"])
        #expect(pci.stderr.contains("kernel command line: reboot=k panic=1 nomodule 8250.nr_uarts=0 "), "\(pci.stderr)")
        // swiftlet run keeps its own default.
        let plain = try SwiftletProcess.run(["run", "--config-file", path, "--verbose"])
        #expect(plain.stderr.contains("kernel command line: \(CLIBehaviourTests.defaultCommandLine)\n"), "\(plain.stderr)")
    }

    @Test(arguments: [false, true])
    func theBootTimerLogsTheGuestsBootTime(enablePCI: Bool) throws {
        let disk = try DiskTests.makeDisk("fc-boot-timer")
        defer { try? FileManager.default.removeItem(at: disk) }
        // A drive too, so that on PCI a BAR is placed next to the boot timer's page.
        let config = try configFile(test: "boot-timer", disk: disk)
        let result = try run(["--no-api", "--config-file", config, "--boot-timer", "--level", "Info"] + (enablePCI ? ["--enable-pci"] : []))
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.lines.contains("swiftlet-testguest: boot-timer: signalled"), "\(result.stdout)")
        let reports = result.stderr.split(separator: "\n").filter { $0.contains("Guest-boot-time = ") }
        #expect(reports.count == 1, "only the byte 123 counts: \(result.stderr)")
        let line = String(reports.first ?? "")
        let match = line.firstMatch(of: /Guest-boot-time = (\d+) us (\d+) ms, (\d+) CPU us (\d+) CPU ms/)
        #expect(match != nil, "\(line)")
        if let match, let microseconds = Int(match.1), let milliseconds = Int(match.2) {
            #expect(microseconds > 0 && microseconds < 60_000_000, "measured from Swiftlet's start: \(line)")
            #expect(milliseconds == microseconds / 1000)
        }
        // Without the flag there is no device and no report.
        let without = try run(["--no-api", "--config-file", config, "--level", "Info"])
        #expect(!without.stderr.contains("Guest-boot-time"), "\(without.stderr)")
    }

    @Test func aBrokenConfigFileExitsWithBadConfiguration() throws {
        let path = directory.appendingPathComponent("broken.json").path
        #expect(FileManager.default.createFile(atPath: path, contents: Data("{".utf8)))
        #expect(try run(["--no-api", "--config-file", path]).status == 152)
        let missingKernel = try configFile(test: "hello", disk: directory.appendingPathComponent("none.img"), kernel: "/nonexistent/vmlinux")
        #expect(try run(["--no-api", "--config-file", missingKernel]).status == 152)
    }

    @Test func theAPIGettingStartedFlowBootsTheGuest() throws {
        let disk = try DiskTests.makeDisk("fc-api")
        defer { try? FileManager.default.removeItem(at: disk) }
        let socket = directory.appendingPathComponent("fc.sock").path
        let console = directory.appendingPathComponent("console.txt")
        #expect(FileManager.default.createFile(atPath: console.path, contents: nil))
        let process = Process()
        process.executableURL = firecracker
        process.arguments = ["--api-sock", socket]
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = try FileHandle(forWritingTo: console)
        process.standardError = FileHandle.nullDevice
        try process.run()
        defer {
            if process.isRunning { process.terminate() }
            process.waitUntilExit()
        }
        func request(_ method: String, _ path: String, _ body: String? = nil) throws -> String {
            var arguments = ["-s", "--unix-socket", socket, "-X", method, "-w", "%{http_code}"]
            if let body { arguments += ["-H", "Content-Type: application/json", "-d", body] }
            return String(try RunningSwiftlet.runTool("/usr/bin/curl", arguments + ["http://localhost\(path)"]).suffix(3))
        }
        func put(_ path: String, _ body: String) throws -> String { try request("PUT", path, body) }
        // The socket file appears when it is bound, a moment before the server listens.
        try waitUntil(timeout: 20, "the API to answer") { (try? request("GET", "/")) == "200" }
        let log = directory.appendingPathComponent("api.log"), metrics = directory.appendingPathComponent("api.metrics")
        #expect(try put("/logger", #"{"log_path": "\#(log.path)", "level": "Info"}"#) == "204")
        #expect(try put("/metrics", #"{"metrics_path": "\#(metrics.path)"}"#) == "204")
        #expect(try put("/actions", #"{"action_type": "FlushMetrics"}"#) == "204")
        #expect(try put("/boot-source", #"{"kernel_image_path": "\#(try TestGuest.path())", "boot_args": "test=blk pci=off"}"#) == "204")
        #expect(try put("/drives/rootfs", #"{"drive_id": "rootfs", "path_on_host": "\#(disk.path)", "is_root_device": true, "is_read_only": false}"#) == "204")
        #expect(try put("/machine-config", #"{"vcpu_count": 1, "mem_size_mib": 64}"#) == "204")
        #expect(try put("/actions", #"{"action_type": "InstanceStart"}"#) == "204")
        try waitUntil(timeout: 30, "the guest to finish") { !process.isRunning }
        let output = (try? String(contentsOf: console, encoding: .utf8)) ?? ""
        #expect(output.contains("blk: ok"), "\(output)")
        #expect(process.terminationStatus == 0)
        #expect(try String(contentsOf: log, encoding: .utf8).contains("kernel command line"))
        // The FlushMetrics line, then the one written at exit; the API requests are counted.
        let lines = try metricsLines(metrics)
        #expect(lines.count >= 2)
        #expect(total(lines, "put_api_requests", "drive_count") == 1)
        #expect(total(lines, "put_api_requests", "actions_count") >= 2)
        #expect(total(lines, "block_rootfs", "read_count") > 0)
    }
}
