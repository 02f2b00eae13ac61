import ArgumentParser
import CThreadSpawner
import ControlAPI
import Devices
import FoundationEssentials
import Logging
import Machine
import Sandbox
import SwiftletCore

#if canImport(Glibc)
import Glibc
#endif

struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Boot a guest kernel, or restore a snapshot, with its serial console on this terminal.",
        discussion: """
            The guest's 16550 console (COM1, ttyS0) is connected to stdin and stdout. When stdin is a \
            terminal it is switched to raw mode: press Ctrl-A then x to quit, and Ctrl-A Ctrl-A to send \
            one Ctrl-A to the guest. Ctrl-C goes to the guest; before a VM exists (while Swiftlet \
            waits for its configuration over the API) it quits Swiftlet.

            Start a VM in one of four ways: --kernel (boot at once), --config-file (a Firecracker \
            configuration file, boot at once), --restore with --mem-file (continue a snapshot), or only \
            --api-sock (wait for configuration through the API). --api-sock serves Firecracker's REST \
            API in every case.

            Without --cmdline, the kernel gets "\(KernelCommandLine.default)"; --verbose prints the \
            command line a VM boots with.

            Exit status:
            \(StopReason.ExitStatus.table)
            """)

    @Option(name: .long, help: ArgumentHelp("Guest kernel: a bzImage or an ELF64 vmlinux.", valueName: "path"))
    var kernel: String?

    @Option(name: .long, help: ArgumentHelp("Initial ramdisk, loaded below the kernel's initrd_addr_max.", valueName: "path"))
    var initrd: String?

    @Option(
        name: .long,
        help: ArgumentHelp("Kernel command line (default: \"\(KernelCommandLine.default)\").", valueName: "string"))
    var cmdline: String?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Guest RAM in MiB (\(MachineLimits.memoryMiB.lowerBound) to \(MachineLimits.memoryMiB.upperBound)).", valueName: "MiB"))
    var memory: Int = 128

    @Option(
        name: .long,
        help: ArgumentHelp("Number of vCPUs (\(MachineLimits.vcpuCount.lowerBound) to \(MachineLimits.vcpuCount.upperBound)).", valueName: "N"))
    var cpus: Int = 1

    @Option(
        name: .long,
        help: ArgumentHelp(
            """
            A virtio-blk disk backed by a host file; repeat for more (vda, vdb, ...). ',ro' (or ',readonly') makes it \
            read-only; ',id=NAME' sets the ID the guest reads: 1 to \(MachineLimits.driveIDBytes) ASCII letters, digits \
            or underscores; ',cache=unsafe' acknowledges the guest's flushes without syncing the image (the default, \
            writeback, syncs it).
            """,
            valueName: DiskOption.valueName),
        transform: { argument throws(DiskOptionError) in try DiskOption(parsing: argument) })
    var disk: [DiskOption] = []

    @Option(
        name: .long,
        help: ArgumentHelp(
            """
            A virtio-net interface on an existing host tap; repeat for more (eth0, eth1, ...). ',mac=' sets the \
            guest's MAC (default 02:53:57:00:00:N), ',id=' the interface id the API and snapshots use.
            """,
            valueName: NetOption.valueName),
        transform: { argument throws(NetOptionError) in try NetOption(parsing: argument) })
    var net: [NetOption] = []

    @Option(
        name: .long,
        help: ArgumentHelp(
            """
            A virtio-vsock device: the guest's CID (3 or more) and a Unix socket path, which must not exist yet, \
            for the host side (Firecracker's model: host programs connect there and send 'CONNECT <port>'; guest \
            connections to host port P go to PATH_P).
            """,
            valueName: VsockOption.valueName),
        transform: { argument throws(VsockOptionError) in try VsockOption(parsing: argument) })
    var vsock: VsockOption?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "What carries the disks: pci (virtio-pci, the default) or mmio (virtio-mmio, announced in the DSDT and by virtio_mmio.device= words appended to the command line, as Firecracker does).",
            valueName: "pci|mmio"))
    var transport: VirtioTransportKind = .pci

    @Flag(name: .long, help: "Add a virtio-rng device that gives the guest entropy from the host's getrandom (/dev/hwrng).")
    var entropy = false

    @Option(name: .customLong("serial-out"), help: ArgumentHelp("Write the guest console to this file instead of stdout.", valueName: "path"))
    var serialOut: String?

    @Option(name: .customLong("api-sock"), help: ArgumentHelp("Serve the control API (Firecracker's REST dialect) on this Unix socket.", valueName: "path"))
    var apiSock: String?

    @Option(name: .customLong("config-file"), help: ArgumentHelp("Boot from a Firecracker JSON configuration file (boot-source, drives, machine-config).", valueName: "path"))
    var configFile: String?

    @Option(name: .long, help: ArgumentHelp("Restore the VM from this snapshot state file (needs --mem-file).", valueName: "path"))
    var restore: String?

    @Option(name: .customLong("mem-file"), help: ArgumentHelp("The snapshot's guest memory file, with --restore.", valueName: "path"))
    var memoryFile: String?

    @Option(name: .customLong("mem"), help: ArgumentHelp("Old name of --mem-file.", visibility: .hidden))
    var oldMemoryFile: String?

    @Flag(name: .long, help: "With --restore: leave the restored VM paused (resume it through the API).")
    var paused = false

    @Option(name: .long, help: ArgumentHelp("Instance ID reported by GET /.", valueName: "id"))
    var id: String = "anonymous-instance"

    @Option(name: .customLong("log-level"), help: "Log verbosity (default: warning).")
    var logLevel: Logger.Level?

    @Flag(name: .long, help: "Log more (at least --log-level info), including the kernel command line.")
    var verbose = false

    @Option(name: .customLong("log-path"), help: ArgumentHelp("Append the log to this file instead of writing it to stderr.", valueName: "path"))
    var logPath: String?

    @Flag(name: .customLong("show-log-origin"), help: "Put the source file and line of each log message in its line.")
    var showLogOrigin = false

    @Option(
        name: .customLong("metrics-path"),
        help: ArgumentHelp("Append Firecracker-style metrics (JSON lines, every 60 s and at exit) to this file or named pipe.", valueName: "path"))
    var metricsPath: String?

    @Flag(
        name: .customLong("boot-timer"),
        help: "Log the time from Swiftlet's start until the guest writes 123 to 0xC0000000 (Firecracker's boot timer), at level info.")
    var bootTimer = false

    /// The jailer's start on the monotonic clock, in microseconds: the boot timer counts from there.
    @Option(name: .customLong("start-time-us"), help: .hidden)
    var startTimeMicroseconds: UInt64?

    /// The CPU time the boot timer's CPU figure counts from, in microseconds.
    @Option(name: .customLong("start-time-cpu-us"), help: .hidden)
    var startTimeCPUMicroseconds: UInt64?

    /// Set by Firecracker mode: Firecracker's defaults where Swiftlet's differ (the command line).
    @Flag(name: .customLong("firecracker-defaults"), help: .hidden)
    var firecrackerDefaults = false

    @Flag(name: .customLong("no-seccomp"), help: "Run without the seccomp system-call filter (on by default; see docs/security.md).")
    var noSeccomp = false

    @Option(
        name: .customLong("seccomp-filter"),
        help: ArgumentHelp("Use this JSON seccomp filter file (one allowlist per thread kind) instead of the built-in one.", valueName: "path"))
    var seccompFilter: String?

    /// Checks each value on its own. How the options combine is checked in `run()`: ArgumentParser
    /// calls `validate()` before it reports an unknown option, so a "nothing to do" error here
    /// would hide the typo that caused it (`--kernal`).
    mutating func validate() throws {
        do {
            try MachineLimits.checkMemory(memory, field: "--memory")
            try MachineLimits.checkVCPUCount(cpus, field: "--cpus")
        } catch {
            throw ValidationError(error.description)
        }
    }

    /// The KVM device; `SWIFTLET_KVM_DEVICE` overrides it, so tests can show the errors for a
    /// missing or wrong device without touching the host's /dev/kvm.
    static var kvmDevicePath: String {
        ProcessInfo.processInfo.environment["SWIFTLET_KVM_DEVICE"] ?? Machine.defaultKVMDevicePath
    }

    mutating func run() throws {
        // As early as run gets: the boot timer counts from Swiftlet's start.
        let started = BootTimer.Instant.now()
        try checkCombination()
        let (logger, logRouting) = try bootstrapLogging()
        // Names no file, so nothing can fail.
        if showLogOrigin { try? logRouting.apply(LoggerConfig(showLogOrigin: true)) }
        signal(SIGPIPE, SIG_IGN)
        let pending = PendingMachine()
        // Before any work: a signal during boot, a restore or a snapshot must end in an
        // orderly stop (and the temporary-file cleanup below), not the default action.
        let signals = VMSession.catchStopSignals(pending)
        defer { signals.forEach { $0.cancel() } }
        try installSeccomp()
        let output = try openConsoleOutput()
        let backend = MachineBackend(
            pending: pending, instanceID: id, kvmDevicePath: Self.kvmDevicePath, transport: transport, console: output, logger: logger,
            logRouting: logRouting,
            defaultCommandLine: firecrackerDefaults ? KernelCommandLine.firecrackerDefault(transport: transport) : KernelCommandLine.default,
            bootTimerStart: bootTimer ? bootTimerStart(processStart: started) : nil)
        if let metricsPath {
            do { try backend.configureMetrics(MetricsConfig(metricsPath: metricsPath)) } catch { throw CommandFailure("--metrics-path: \(error)") }
        }

        var server: APIServer?
        if let apiSock {
            let started = APIServer(socketPath: apiSock, backend: backend, logger: logger)
            do { try started.start() } catch { throw CommandFailure("\(error)") }
            server = started
        }
        defer { server?.stop() }

        do {
            try startFromCommandLine(backend)
        } catch {
            throw CommandFailure("\(error)", isConfiguration: true)
        }
        #if DEBUG
        DebugHooks.runForbiddenSystemCallIfAsked()
        #endif
        let reason = VMSession(pending: pending).run()
        server?.stop()
        backend.metrics.flush()
        // A signal may have stopped the VM in the middle of a snapshot.
        TemporaryFiles.removeAll()
        output.finish()
        if output.droppedBytes > 0 {
            logger.warning("console output dropped: the output did not drain", metadata: ["bytes": "\(output.droppedBytes)"])
        }
        try reason.exitIfFailed()
    }

    /// Swiftlet's own start, or the jailer's when it passed one, on both of the boot timer's clocks.
    private func bootTimerStart(processStart: BootTimer.Instant) -> BootTimer.Instant {
        BootTimer.Instant(
            monotonicMicroseconds: startTimeMicroseconds ?? processStart.monotonicMicroseconds,
            cpuMicroseconds: startTimeCPUMicroseconds ?? 0)
    }

    /// How the options combine; `Swiftlet.main` prints a failure with the usage line.
    private mutating func checkCombination() throws(OptionCombinationError) {
        let sources = [kernel != nil, configFile != nil, restore != nil].filter { $0 }.count
        guard sources <= 1 else { throw OptionCombinationError("use only one of --kernel, --config-file and --restore") }
        guard sources == 1 || apiSock != nil else {
            throw OptionCombinationError("give --kernel, --config-file or --restore, or --api-sock to configure the VM through the API")
        }
        memoryFile = try RenamedOption.resolve(memoryFile, name: "--mem-file", oldValue: oldMemoryFile, oldName: "--mem")
        guard (restore == nil) == (memoryFile == nil) else { throw OptionCombinationError("--restore and --mem-file go together") }
        guard kernel != nil || (initrd == nil && cmdline == nil && disk.isEmpty && net.isEmpty && vsock == nil && !entropy) else {
            throw OptionCombinationError("--initrd, --cmdline, --disk, --net, --vsock and --entropy need --kernel")
        }
        guard !paused || restore != nil else { throw OptionCombinationError("--paused goes with --restore") }
    }

    /// The `main` allowlist for every thread of the process, before any thread of ours starts
    /// (libdispatch and NIO start theirs from this one, so they inherit it). vCPU and API
    /// threads narrow themselves further to their own lists when they start (`ThreadSandbox`).
    private func installSeccomp() throws(CommandFailure) {
        do {
            let policy = try SeccompPolicy.fromOptions(
                noSeccomp: noSeccomp, filterFile: seccompFilter, environment: ProcessInfo.processInfo.environment)
            try policy.install(for: .main, scope: .allThreads)
            try ThreadSandbox.configure(
                policy, spawner: ThreadSpawner(start: cthreadspawner_start, markThreadNarrowed: cthreadspawner_mark_thread_narrowed))
        } catch {
            throw CommandFailure("seccomp: \(error)")
        }
    }

    private func bootstrapLogging() throws(CommandFailure) -> (Logger, LogRouting) {
        let level = logLevel.map { verbose ? min($0, .info) : $0 } ?? (verbose ? .info : .warning)
        guard let logPath else { return SwiftletLogging.bootstrap(level: level) }
        do {
            return SwiftletLogging.bootstrap(level: level, logFile: try LogFile.open(logPath))
        } catch {
            throw CommandFailure("cannot open --log-path: \(error)")
        }
    }

    /// Performs what the options ask for through the same backend the API uses, so that the
    /// API sees a consistent state afterwards (e.g. pre-boot calls are refused).
    private func startFromCommandLine(_ backend: MachineBackend) throws {
        if let kernel {
            try backend.setMachineConfig(MachineConfig(vcpuCount: cpus, memSizeMiB: memory))
            try backend.setBootSource(BootSource(kernelImagePath: kernel, bootArgs: cmdline, initrdPath: initrd))
            for disk in DiskOption.configurations(disk) {
                try backend.putDrive(
                    Drive(
                        driveID: disk.id, pathOnHost: disk.path, isRootDevice: false, isReadOnly: disk.readOnly,
                        cacheType: Drive.CacheType(disk.cacheType), ioEngine: Drive.IOEngine(disk.ioEngine), direct: disk.direct,
                        queueCount: disk.queueCount))
            }
            for interface in NetOption.interfaces(net) { try backend.putNetworkInterface(interface) }
            if entropy { try backend.putEntropyDevice(EntropyDevice()) }
            if let vsock { try backend.putVsock(vsock.device) }
            try backend.instanceStart()
        } else if let configFile {
            try FirecrackerConfigFile(contentsOf: configFile).apply(to: backend)
            try backend.instanceStart()
        } else if let restore, let memoryFile {
            let files = SnapshotFiles(snapshotPath: restore, memFilePath: memoryFile)
            try backend.loadSnapshot(SnapshotLoadRequest(files: files, resumeVM: !paused))
        }
    }

    private func openConsoleOutput() throws(CommandFailure) -> ConsoleOutput {
        guard let serialOut else { return ConsoleOutput(fd: STDOUT_FILENO) }
        do {
            let fd = try systemCall("open", path: serialOut) { open(serialOut, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644) }
            return ConsoleOutput(fd: fd)
        } catch {
            throw CommandFailure("cannot open --serial-out: \(error)")
        }
    }
}

/// A runtime failure: printed as one line on stderr, exit status 1.
struct CommandFailure: Error, CustomStringConvertible {
    let description: String
    /// The VM could not be built from the configuration given (Firecracker mode exits with
    /// BadConfiguration for a configuration file that fails this way).
    let isConfiguration: Bool
    init(_ message: String, isConfiguration: Bool = false) {
        description = message
        self.isConfiguration = isConfiguration
    }
}
