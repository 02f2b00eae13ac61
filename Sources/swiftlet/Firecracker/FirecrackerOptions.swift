import ArgumentParser
import ControlAPI

/// Firecracker 1.x's command-line flags, spelled as its launchers pass them (long options,
/// `--name value`). Swiftlet acts on the ones that mean something here and accepts the rest
/// so that a launcher's command line never fails; docs/firecracker-compatibility.md says which.
struct FirecrackerOptions: ParsableArguments {
    @Option(name: .customLong("api-sock"), help: "Path of the API's Unix socket.")
    var apiSock = "/run/firecracker.socket"

    @Option(name: .customLong("config-file"), help: "Boot from this JSON configuration file.")
    var configFile: String?

    @Flag(name: .customLong("no-api"), help: "Serve no API (needs --config-file).")
    var noAPI = false

    @Option(name: .long, help: "MicroVM identifier.")
    var id = "anonymous-instance"

    @Option(name: .long, help: "Log level: Error, Warning, Info, Debug, Trace or Off.")
    var level: LogLevel?

    @Option(name: .customLong("log-path"), help: "Append the log to this file.")
    var logPath: String?

    @Flag(name: .customLong("show-level"), help: "Accepted; Swiftlet's log lines always carry their level.")
    var showLevel = false

    @Flag(name: .customLong("show-log-origin"), help: "Put the source file and line in each log line.")
    var showLogOrigin = false

    @Option(name: .customLong("metrics-path"), help: "Append metrics (JSON lines) to this file or named pipe.")
    var metricsPath: String?

    @Flag(name: .customLong("boot-timer"), help: "Log the guest's boot time when it writes 123 to the boot-timer page at 0xC0000000.")
    var bootTimer = false

    @Flag(name: .customLong("enable-pci"), help: "Put virtio devices on PCI instead of virtio-mmio.")
    var enablePCI = false

    @Option(name: .customLong("http-api-max-payload-size"), help: "Accepted and ignored.")
    var httpAPIMaxPayloadSize: UInt64?

    @Option(name: .customLong("mmds-size-limit"), help: "Accepted and ignored (no MMDS).")
    var mmdsSizeLimit: UInt64?

    @Flag(name: .customLong("no-seccomp"), help: "Accepted; not passed on to the sandbox yet.")
    var noSeccomp = false

    @Option(name: .customLong("seccomp-filter"), help: "Accepted and ignored (Firecracker's compiled filter format).")
    var seccompFilter: String?

    @Option(name: .customLong("start-time-us"), help: "Passed by the jailer: its start on the monotonic clock, where the boot timer counts from.")
    var startTimeMicroseconds: UInt64?

    @Option(name: .customLong("start-time-cpu-us"), help: "Passed by the jailer: the CPU time the boot timer counts from.")
    var startTimeCPUMicroseconds: UInt64?

    @Option(name: .customLong("parent-cpu-time-us"), help: "Passed by the jailer; accepted and ignored.")
    var parentCPUTimeMicroseconds: UInt64?

    @Option(name: .customLong("describe-snapshot"), help: "Print the data format version of a snapshot state file.")
    var describeSnapshot: String?

    @Flag(name: .long, help: "Print the Firecracker version whose API Swiftlet implements, and Swiftlet's own.")
    var version = false

    /// Every flag above, for deciding whether a `swiftlet` command line is a Firecracker one.
    static let flagNames: Set<String> = [
        "--api-sock", "--config-file", "--no-api", "--id", "--level", "--log-path", "--show-level", "--show-log-origin",
        "--metrics-path", "--boot-timer", "--enable-pci", "--http-api-max-payload-size", "--mmds-size-limit", "--no-seccomp",
        "--seccomp-filter", "--start-time-us", "--start-time-cpu-us", "--parent-cpu-time-us", "--describe-snapshot",
    ]

    /// The `swiftlet run` arguments that do what these options ask.
    var runArguments: [String] {
        var arguments = ["--id", id, "--transport", enablePCI ? "pci" : "mmio", "--firecracker-defaults"]
        if !noAPI { arguments += ["--api-sock", apiSock] }
        if let configFile { arguments += ["--config-file", configFile] }
        if let level { arguments += ["--log-level", level.swiftLogLevel.rawValue] }
        if let logPath { arguments += ["--log-path", logPath] }
        if showLogOrigin { arguments.append("--show-log-origin") }
        if let metricsPath { arguments += ["--metrics-path", metricsPath] }
        if bootTimer { arguments.append("--boot-timer") }
        if let startTimeMicroseconds { arguments += ["--start-time-us", String(startTimeMicroseconds)] }
        if let startTimeCPUMicroseconds { arguments += ["--start-time-cpu-us", String(startTimeCPUMicroseconds)] }
        return arguments
    }
}

/// Firecracker's `--level` values (it accepts them in any case).
extension LogLevel: ExpressibleByArgument {
    public init?(argument: String) {
        self.init(name: argument)
    }
}
