import ArgumentParser
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
        abstract: "Boot a guest kernel with its serial console on this terminal.",
        discussion: """
            The guest's 16550 console (COM1, ttyS0) is connected to stdin and stdout. When stdin is a \
            terminal it is switched to raw mode; press Ctrl-A then x to quit. Swiftlet exits with status 0 \
            when the guest reboots or powers off, and non-zero when the VM cannot be built or fails.
            """)

    @Option(name: .long, help: ArgumentHelp("Guest kernel: a bzImage or an ELF64 vmlinux.", valueName: "path"))
    var kernel: String

    @Option(name: .long, help: ArgumentHelp("Initial ramdisk loaded below the kernel's initrd_addr_max.", valueName: "path"))
    var initrd: String?

    @Option(name: .long, help: ArgumentHelp("Kernel command line, e.g. \"console=ttyS0 reboot=k panic=1\".", valueName: "string"))
    var cmdline: String = ""

    @Option(name: .long, help: ArgumentHelp("Guest RAM in MiB.", valueName: "MiB"))
    var memory: Int = 128

    @Option(name: .long, help: ArgumentHelp("Number of vCPUs.", valueName: "N"))
    var cpus: Int = 1

    @Option(name: .customLong("serial-out"), help: ArgumentHelp("Write the guest console to this file instead of stdout.", valueName: "path"))
    var serialOut: String?

    @Option(name: .customLong("log-level"), help: "Log verbosity on stderr: trace, debug, info, warning, error.")
    var logLevel: Logger.Level = .warning

    func validate() throws {
        guard MachineConfiguration.memoryRangeMiB.contains(memory) else {
            throw ValidationError("--memory must be between \(MachineConfiguration.memoryRangeMiB.lowerBound) and \(MachineConfiguration.memoryRangeMiB.upperBound) MiB")
        }
        guard MachineConfiguration.vcpuRange.contains(cpus) else {
            throw ValidationError("--cpus must be between \(MachineConfiguration.vcpuRange.lowerBound) and \(MachineConfiguration.vcpuRange.upperBound)")
        }
    }

    func run() throws {
        let logger = SwiftletLogging.bootstrap(level: logLevel)
        signal(SIGPIPE, SIG_IGN)
        let output = try openConsoleOutput()
        let configuration = MachineConfiguration(kernelPath: kernel, initrdPath: initrd, commandLine: cmdline, memoryMiB: memory, vcpuCount: cpus)

        let machine: Machine
        do {
            machine = try Machine.boot(configuration, serialOutput: output.write, logger: logger)
        } catch {
            throw CommandFailure(error.description)
        }
        let reason = VMSession(machine: machine).run()
        try reason.exitIfFailed()
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

/// Runs a built machine with the console and host signals attached, until it stops.
struct VMSession {
    let machine: Machine

    func run() -> StopReason {
        let interactive = isatty(STDIN_FILENO) == 1
        TerminalMode.enterRaw()
        defer { TerminalMode.restore() }
        let signalSources = [SIGTERM, SIGINT, SIGHUP].map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { [machine] in machine.requestStop(.hostRequest("signal \(number)")) }
            source.resume()
            return source
        }
        defer { signalSources.forEach { $0.cancel() } }
        ConsoleInput(serial: machine.serial, interactive: interactive) { [machine] in
            machine.requestStop(.hostRequest("console escape (Ctrl-A x)"))
        }.start()
        machine.start()
        return machine.waitForStop()
    }
}

extension StopReason {
    /// Prints why the VM stopped and turns a failure into a non-zero exit.
    func exitIfFailed() throws {
        FileHandle.standardError.write(Data("swiftlet: \(description)\n".utf8))
        if !isClean { throw ExitCode(1) }
    }
}

/// A runtime failure: printed as one line on stderr, exit status 1.
struct CommandFailure: Error, CustomStringConvertible {
    let description: String
    init(_ message: String) { description = message }
}
