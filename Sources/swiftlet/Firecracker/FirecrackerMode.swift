import Glibc
import ArgumentParser
import FoundationEssentials
import Machine
import SwiftletCore

/// Swiftlet standing in for the `firecracker` binary: invoked under that name (a symlink), or
/// with Firecracker's flags and no subcommand. It translates the flags into a `run` and exits
/// with Firecracker's exit codes, so a launcher written for Firecracker needs no change.
enum FirecrackerMode {
    /// The Firecracker release whose API and flags this mode follows; launchers parse the
    /// first line of `--version` as "Firecracker vX.Y.Z".
    static let firecrackerVersion = "1.7.0"

    /// Firecracker's `FcExitCode` values that this mode can end with.
    enum ExitStatus: Int32 {
        case ok = 0
        case genericError = 1
        case badConfiguration = 152
        case argumentParsing = 153
    }

    /// Whether `arguments` (argv, program name first) ask for Firecracker's interface.
    static func applies(to arguments: [String]) -> Bool {
        guard let program = arguments.first else { return false }
        if URL(fileURLWithPath: program).lastPathComponent == "firecracker" { return true }
        guard arguments.count > 1 else { return false }
        let flag = arguments[1].split(separator: "=", maxSplits: 1).first.map(String.init) ?? arguments[1]
        return FirecrackerOptions.flagNames.contains(flag)
    }

    /// Runs with `arguments` (argv without the program name) and never returns.
    static func main(_ arguments: [String]) -> Never {
        let options: FirecrackerOptions
        do {
            options = try FirecrackerOptions.parse(arguments)
        } catch {
            let code = FirecrackerOptions.exitCode(for: error)
            // --help is a successful parse as far as the user is concerned.
            if code == .success { FirecrackerOptions.exit(withError: error) }
            Diagnostics.error(FirecrackerOptions.message(for: error))
            exit(.argumentParsing)
        }
        if options.version {
            print("Firecracker v\(firecrackerVersion)")
            print("Swiftlet \(SwiftletVersion.current), implementing Firecracker's API and command line")
            exit(.ok)
        }
        if let path = options.describeSnapshot { describeSnapshot(path) }
        if options.noAPI && options.configFile == nil {
            Diagnostics.error("--no-api requires --config-file")
            exit(.argumentParsing)
        }
        do {
            var run = try RunCommand.parse(options.runArguments)
            try run.run()
            exit(.ok)
        } catch let failure as CommandFailure {
            Diagnostics.error(failure.description)
            exit(failure.isConfiguration && options.configFile != nil ? .badConfiguration : .genericError)
        } catch let error as OptionCombinationError {
            Diagnostics.error("\(error)")
            exit(.argumentParsing)
        } catch let code as ExitCode {
            Glibc.exit(code.rawValue == 0 ? ExitStatus.ok.rawValue : ExitStatus.genericError.rawValue)
        } catch {
            Diagnostics.error(RunCommand.message(for: error))
            exit(.genericError)
        }
    }

    /// Firecracker prints the snapshot data format version of a state file.
    private static func describeSnapshot(_ path: String) -> Never {
        do {
            _ = try SnapshotFile.read(path: path)
            print("v\(SnapshotFile.formatVersion).0.0")
            exit(.ok)
        } catch {
            Diagnostics.error("\(error)")
            exit(.genericError)
        }
    }

    private static func exit(_ status: ExitStatus) -> Never {
        Glibc.exit(status.rawValue)
    }
}
