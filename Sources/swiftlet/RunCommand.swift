import ArgumentParser
import ControlAPI
import Dispatch
import Foundation
import Logging
import Machine
#if canImport(Glibc)
import Glibc
#endif

struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Boot a guest kernel, or restore a snapshot, with its serial console on this terminal.",
        discussion: """
            The guest's 16550 console (COM1, ttyS0) is connected to stdin and stdout. When stdin is a \
            terminal it is switched to raw mode; press Ctrl-A then x to quit.

            Start a VM in one of four ways: --kernel (boot at once), --config-file (a Firecracker \
            configuration file, boot at once), --restore with --mem (continue a snapshot), or only \
            --api-sock (wait for configuration through the API). --api-sock serves Firecracker's REST \
            API in every case.

            Exit status:
            \(StopReason.ExitStatus.table)
            """)

    @Option(name: .long, help: ArgumentHelp("Guest kernel: a bzImage or an ELF64 vmlinux.", valueName: "path"))
    var kernel: String?

    @Option(name: .long, help: ArgumentHelp("Initial ramdisk, loaded below the kernel's initrd_addr_max.", valueName: "path"))
    var initrd: String?

    @Option(name: .long, help: ArgumentHelp("Kernel command line, e.g. \"console=ttyS0 reboot=k panic=1 pci=conf1\".", valueName: "string"))
    var cmdline: String = ""

    @Option(name: .long, help: ArgumentHelp("Guest RAM in MiB.", valueName: "MiB"))
    var memory: Int = 128

    @Option(name: .long, help: ArgumentHelp("Number of vCPUs.", valueName: "N"))
    var cpus: Int = 1

    @Option(
        name: .long,
        help: ArgumentHelp(
            "A virtio-blk disk backed by a host file; repeat for more (vda, vdb, ...). ',ro' makes it read-only, ',id=NAME' sets the ID the guest reads (at most 20 bytes).",
            valueName: "PATH[,ro][,id=NAME]"))
    var disk: [DiskOption] = []

    @Option(name: .customLong("serial-out"), help: ArgumentHelp("Write the guest console to this file instead of stdout.", valueName: "path"))
    var serialOut: String?

    @Option(name: .customLong("api-sock"), help: ArgumentHelp("Serve the control API (Firecracker's REST dialect) on this Unix socket.", valueName: "path"))
    var apiSock: String?

    @Option(name: .customLong("config-file"), help: ArgumentHelp("Boot from a Firecracker JSON configuration file (boot-source, drives, machine-config).", valueName: "path"))
    var configFile: String?

    @Option(name: .long, help: ArgumentHelp("Restore the VM from this snapshot state file (needs --mem).", valueName: "path"))
    var restore: String?

    @Option(name: .customLong("mem"), help: ArgumentHelp("The snapshot's memory file, with --restore.", valueName: "path"))
    var memoryFile: String?

    @Flag(name: .long, help: "With --restore: leave the restored VM paused (resume it through the API).")
    var paused = false

    @Option(name: .long, help: ArgumentHelp("Instance ID reported by GET /.", valueName: "id"))
    var id: String = "anonymous-instance"

    @Option(name: .customLong("log-level"), help: "Log verbosity on stderr: trace, debug, info, warning, error.")
    var logLevel: Logger.Level = .warning

    func validate() throws {
        let sources = [kernel != nil, configFile != nil, restore != nil].filter { $0 }.count
        guard sources <= 1 else { throw ValidationError("use only one of --kernel, --config-file and --restore") }
        guard sources == 1 || apiSock != nil else {
            throw ValidationError("give --kernel, --config-file or --restore, or --api-sock to configure the VM through the API")
        }
        guard (restore == nil) == (memoryFile == nil) else { throw ValidationError("--restore and --mem go together") }
        guard kernel != nil || (initrd == nil && cmdline.isEmpty && disk.isEmpty) else {
            throw ValidationError("--initrd, --cmdline and --disk need --kernel")
        }
        guard !paused || restore != nil else { throw ValidationError("--paused goes with --restore") }
        guard VMBuildConfiguration.memoryRangeMiB.contains(memory) else {
            throw ValidationError(
                "--memory must be between \(VMBuildConfiguration.memoryRangeMiB.lowerBound) and \(VMBuildConfiguration.memoryRangeMiB.upperBound) MiB")
        }
        guard VMBuildConfiguration.vcpuRange.contains(cpus) else {
            throw ValidationError("--cpus must be between \(VMBuildConfiguration.vcpuRange.lowerBound) and \(VMBuildConfiguration.vcpuRange.upperBound)")
        }
    }

    func run() throws {
        let logger = SwiftletLogging.bootstrap(level: logLevel)
        signal(SIGPIPE, SIG_IGN)
        let output = try openConsoleOutput()
        let slot = MachineSlot()
        let backend = MachineBackend(slot: slot, instanceID: id, serialOutput: output.write, logger: logger)

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
            throw CommandFailure("\(error)")
        }
        let reason = VMSession(slot: slot).run()
        server?.stop()
        try reason.exitIfFailed()
    }

    /// Performs what the options ask for through the same backend the API uses, so that the
    /// API sees a consistent state afterwards (e.g. pre-boot calls are refused).
    private func startFromCommandLine(_ backend: MachineBackend) throws {
        if let kernel {
            try backend.setMachineConfiguration(ControlAPI.MachineConfiguration(vcpuCount: cpus, memSizeMiB: memory))
            try backend.setBootSource(BootSource(kernelImagePath: kernel, bootArgs: cmdline, initrdPath: initrd))
            for disk in DiskOption.configurations(disk) {
                try backend.putDrive(Drive(driveID: disk.id, pathOnHost: disk.path, isRootDevice: false, isReadOnly: disk.readOnly))
            }
            try backend.instanceStart()
        } else if let configFile {
            try FirecrackerConfigFile(contentsOf: configFile).apply(to: backend)
            try backend.instanceStart()
        } else if let restore, let memoryFile {
            try backend.loadSnapshot(SnapshotLoadRequest(snapshotPath: restore, memFilePath: memoryFile, resumeVM: !paused))
        }
    }

    private func openConsoleOutput() throws -> ConsoleOutput {
        guard let serialOut else { return ConsoleOutput(fd: STDOUT_FILENO) }
        let fd = open(serialOut, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw CommandFailure("cannot open --serial-out \(serialOut): \(String(cString: strerror(errno)))")
        }
        return ConsoleOutput(fd: fd)
    }
}

/// Runs the console and host signals around the VM, until it stops.
struct VMSession {
    let slot: MachineSlot

    func run() -> StopReason {
        let interactive = isatty(STDIN_FILENO) == 1
        TerminalMode.enterRaw()
        defer { TerminalMode.restore() }
        let signalSources = [SIGTERM, SIGINT, SIGHUP].map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { [slot] in
                let reason = StopReason.hostRequest("signal \(number)")
                if let machine = slot.current { machine.requestStop(reason) } else { slot.cancel(reason) }
            }
            source.resume()
            return source
        }
        defer { signalSources.forEach { $0.cancel() } }
        let machine: Machine
        switch slot.wait() {
        case .success(let started): machine = started
        case .failure(let error): return error.reason
        }
        ConsoleInput(serial: machine.serial, interactive: interactive, isPaused: { [machine] in machine.state == .paused }) { [machine] in
            machine.requestStop(.hostRequest("console escape (Ctrl-A x)"))
        }.start()
        return machine.waitForStop()
    }
}

extension StopReason {
    /// Prints why the VM stopped and exits with its documented status (`exitCode`).
    func exitIfFailed() throws {
        FileHandle.standardError.write(Data("swiftlet: \(description)\n".utf8))
        if !isClean { throw ExitCode(exitCode) }
    }
}

/// A runtime failure: printed as one line on stderr, exit status 1.
struct CommandFailure: Error, CustomStringConvertible {
    let description: String
    init(_ message: String) { description = message }
}
