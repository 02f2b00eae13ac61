import ArgumentParser

@main
struct Swiftlet: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "swiftlet",
        abstract: "A minimal KVM virtual machine monitor.",
        discussion: """
            Boots a Linux kernel (bzImage or ELF vmlinux) on /dev/kvm with a 16550 serial console on \
            the terminal and virtio-blk disks, and serves a Firecracker-style control API on a Unix socket.

            Shell completion: `swiftlet --generate-completion-script bash|zsh|fish` prints a script.
            """,
        version: SwiftletVersion.current,
        subcommands: [RunCommand.self, ClientPause.self, ClientResume.self, ClientStatus.self, ClientSnapshot.self, ClientRestore.self, SnapshotRebaseCommand.self, JailCommand.self])

    /// Every error, ArgumentParser's included, starts like this.
    static var _errorPrefix: String { Diagnostics.errorPrefix }

    /// ArgumentParser's own `main`, plus the one error it cannot format: option combinations
    /// checked after parsing (see `OptionCombinationError`).
    static func main() async {
        if FirecrackerMode.applies(to: CommandLine.arguments) { FirecrackerMode.main(Array(CommandLine.arguments.dropFirst())) }
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch let error as OptionCombinationError {
            let name = RunCommand.configuration.commandName ?? "run"
            Diagnostics.error("\(error)\nUsage: swiftlet \(name) <options>\n  See 'swiftlet \(name) --help' for more information.")
            exit(withError: ExitCode.validationFailure)
        } catch {
            exit(withError: error)
        }
    }
}

enum SwiftletVersion {
    static let current = "0.1.0"
}
