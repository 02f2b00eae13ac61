import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The command line as a user meets it: typos, option errors, limits, the console escape, the
/// terminal after a crash, logging, and the renamed --mem.
@Suite(.serialized) struct CLIBehaviourTests {
    static let defaultCommandLine = "console=ttyS0 panic=1 i8042.noaux"

    static func expectUsageError(_ arguments: [String], mentions expected: [String]) throws -> SwiftletProcess.Result {
        let result = try SwiftletProcess.run(arguments, timeout: 30)
        #expect(!result.exitedBySignal)
        #expect(result.status != 0)
        #expect(result.stdout.isEmpty, "nothing ran")
        for text in expected {
            #expect(result.stderr.contains(text), "stderr lacks '\(text)': \(result.stderr)")
        }
        return result
    }

    // MARK: - Typos and messages

    @Test func aMistypedOptionIsNamedWithItsLikelyMeaning() throws {
        // Alone, --kernal also leaves nothing to do; the typo is still what gets reported.
        for arguments in [["run", "--kernal", "bzImage"], ["run", "--kernel", "bzImage", "--initrdd", "i"]] {
            let result = try Self.expectUsageError(arguments, mentions: ["swiftlet: error: Unknown option '\(arguments[arguments.count - 2])'"])
            #expect(result.stderr.contains("Did you mean"), "\(result.stderr)")
            #expect(!result.stderr.contains("give --kernel"), "the nothing-to-do check must not hide the typo: \(result.stderr)")
            #expect(result.status == 64)
        }
    }

    @Test func nothingToDoIsStillExplained() throws {
        let result = try Self.expectUsageError(["run"], mentions: ["swiftlet: error: give --kernel, --config-file or --restore", "swiftlet run --help"])
        #expect(result.status == 64)
    }

    @Test func runtimeErrorsUseTheSamePrefix() throws {
        _ = try Self.expectUsageError(["run", "--kernel", "/nonexistent/vmlinuz"], mentions: ["swiftlet: error: ", "does not exist"])
        _ = try Self.expectUsageError(["status", "--api-sock", "/nonexistent/s.sock"], mentions: ["swiftlet: error: No Swiftlet is listening"])
    }

    // MARK: - --disk

    @Test func diskErrorsNameTheBadPart() throws {
        let guest = try TestGuest.path()
        for (argument, expected) in [
            ("disk.img,bogus", "unknown part 'bogus'; expected ro, readonly, id=NAME, cache=writeback|unsafe, io=sync|async, direct or queues=N"),
            ("disk.img,io=uring", "unknown I/O engine in 'io=uring'; expected io=sync or io=async"),
            ("disk.img,queues=0", "queues must be between 1 and 64 (got 0)"),
            ("disk.img,queues=many", "'queues=many' is not a number of queues"),
            ("disk.img,cache=none", "unknown cache type in 'cache=none'; expected cache=writeback or cache=unsafe"),
            ("disk.img,cache=unsafe,cache=unsafe", "'cache=' is given twice"),
            (",ro", "the path before the first ',' is missing"),
            ("disk.img,id=", "id '' must be 1 to 20 ASCII letters, digits or underscores"),
            ("disk.img,id=bad-name", "id 'bad-name' must be 1 to 20 ASCII letters, digits or underscores"),
            ("disk.img,id=abcdefghij0123456789x", "id 'abcdefghij0123456789x' must be 1 to 20"),
            ("disk.img,id=a,id=b", "'id=' is given twice"),
        ] {
            _ = try Self.expectUsageError(["run", "--kernel", guest, "--disk", argument], mentions: ["--disk", expected])
        }
    }

    @Test func readonlyIsAnotherSpellingOfRo() throws {
        let disk = try DiskTests.makeDisk("readonly")
        defer { try? FileManager.default.removeItem(at: disk) }
        let result = try SwiftletProcess.run(["run", "--kernel", try TestGuest.path(), "--cmdline", "test=blk", "--disk", "\(disk.path),readonly"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.lines.contains { $0.hasPrefix("blk: FAIL") }, "the write was refused: \(result.stdout)")
        #expect(try Data(contentsOf: disk).allSatisfy { $0 == 0 })
    }

    @Test func aTwentyByteDriveIDReachesTheGuestWhole() throws {
        let disk = try DiskTests.makeDisk("id20")
        defer { try? FileManager.default.removeItem(at: disk) }
        let id = "abcdefghij_123456789"
        let result = try SwiftletProcess.run(["run", "--kernel", try TestGuest.path(), "--cmdline", "test=blk", "--disk", "\(disk.path),id=\(id)"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.lines.contains("blk: id \(id)"), "\(result.stdout)")
    }

    // MARK: - Limits: the same words at every door

    @Test func limitsReadTheSameAtTheCommandLineAndTheAPI() throws {
        let guest = try TestGuest.path()
        _ = try Self.expectUsageError(["run", "--kernel", guest, "--memory", "8"], mentions: ["--memory must be between 16 and 1048576 MiB (got 8)"])
        _ = try Self.expectUsageError(["run", "--kernel", guest, "--cpus", "33"], mentions: ["--cpus must be between 1 and 32 (got 33)"])

        let vm = try RunningSwiftlet([], name: "limits")
        let memory = try vm.curl("PUT", "/machine-config", #"{"vcpu_count": 1, "mem_size_mib": 8}"#)
        #expect(memory.status == 400)
        #expect(memory.body.contains("mem_size_mib must be between 16 and 1048576 MiB (got 8)"), "\(memory.body)")
        let cpus = try vm.curl("PUT", "/machine-config", #"{"vcpu_count": 33, "mem_size_mib": 128}"#)
        #expect(cpus.body.contains("vcpu_count must be between 1 and 32 (got 33)"), "\(cpus.body)")
        let longID = "abcdefghij0123456789x"
        let drive = try vm.curl("PUT", "/drives/\(longID)", #"{"drive_id": "\#(longID)", "path_on_host": "/d", "is_root_device": false}"#)
        #expect(drive.status == 400)
        #expect(drive.body.contains("drive_id '\(longID)' must be 1 to 20 ASCII letters, digits or underscores"), "\(drive.body)")
        #expect(try vm.curl("GET", "/").body.contains("Not started"))
    }

    // MARK: - Default command line, --verbose, --log-path

    @Test func withoutCmdlineTheKernelGetsTheDefaultAndVerboseSaysSo() throws {
        let result = try SwiftletProcess.run(["run", "--kernel", try TestGuest.path(), "--verbose"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.contains("kernel command line: \(Self.defaultCommandLine)"), "\(result.stderr)")
        // The tiny guest found no test= word among the default's.
        #expect(result.stdout.contains("swiftlet-testguest: unknown test"))

        let quiet = try SwiftletProcess.run(["run", "--kernel", try TestGuest.path(), "--cmdline", "test=hello"])
        #expect(!quiet.stderr.contains("kernel command line"), "only with --verbose: \(quiet.stderr)")
    }

    @Test func logPathSendsTheLogToAFile() throws {
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("swiftlet-log-\(getpid()).log")
        defer { try? FileManager.default.removeItem(at: log) }
        let result = try SwiftletProcess.run(
            ["run", "--kernel", try TestGuest.path(), "--cmdline", "test=hello", "--verbose", "--log-path", log.path])
        #expect(result.status == 0, "\(result.stderr)")
        let written = try String(contentsOf: log, encoding: .utf8)
        #expect(written.contains("kernel command line: test=hello"), "\(written)")
        #expect(!result.stderr.contains("kernel command line"), "the log went to the file, not stderr: \(result.stderr)")
        #expect(result.stderr.contains("swiftlet: guest reset"), "messages still go to stderr: \(result.stderr)")

        _ = try Self.expectUsageError(
            ["run", "--kernel", try TestGuest.path(), "--log-path", "/nonexistent/dir/x.log"],
            mentions: ["swiftlet: error: cannot open --log-path: open /nonexistent/dir/x.log: No such file or directory"])
    }

    // MARK: - --mem renamed to --mem-file

    @Test func theOldMemOptionStillWorksButWarns() throws {
        let result = try SwiftletProcess.run(["run", "--restore", "/nonexistent/s.state", "--mem", "/nonexistent/s.mem"], timeout: 30)
        #expect(result.status != 0 && !result.exitedBySignal)
        #expect(result.stderr.contains("swiftlet: warning: --mem is deprecated and will be removed; use --mem-file"), "\(result.stderr)")
        #expect(result.stderr.contains("s.state"), "it went on to the restore: \(result.stderr)")

        let renamed = try SwiftletProcess.run(["run", "--restore", "/nonexistent/s.state", "--mem-file", "/nonexistent/s.mem"], timeout: 30)
        #expect(!renamed.stderr.contains("deprecated"))

        let client = try SwiftletProcess.run(["restore", "--api-sock", "/nonexistent/x.sock", "--state", "/nonexistent/s", "--mem", "/nonexistent/m"])
        #expect(client.stderr.contains("swiftlet: warning: --mem is deprecated"), "\(client.stderr)")

        _ = try Self.expectUsageError(["run", "--restore", "s", "--mem", "a", "--mem-file", "b"], mentions: ["give only --mem-file"])
        let help = try SwiftletProcess.run(["run", "--help"])
        #expect(help.stdout.contains("--mem-file"))
        #expect(!help.stdout.contains("--mem "), "the old name is hidden")
    }

    // MARK: - The terminal

    @Test(arguments: [[UInt8(0x01), UInt8(ascii: "x")], [UInt8(0x03)]])
    func escapeQuitsWhileWaitingForConfiguration(keys: [UInt8]) throws {
        let socket = "/tmp/swiftlet-escape-\(getpid())-\(keys.count).sock"
        defer { unlink(socket) }
        let run = try TerminalSwiftlet(["run", "--api-sock", socket])
        try waitUntil(timeout: 20, "the API socket and a raw terminal") {
            FileManager.default.fileExists(atPath: socket) && run.terminal.isRaw
        }
        run.terminal.type(keys)
        let result = try run.waitForExit(timeout: 10)
        #expect(result.status == 0 && !result.exitedBySignal, "\(result.stderr)")
        #expect(result.stderr.contains("stopped by host"), "\(result.stderr)")
        #expect(run.terminal.isCooked, "the terminal is back to cooked mode")
        #expect(!FileManager.default.fileExists(atPath: socket), "the API socket was removed")
    }

    /// Without the Swift runtime's crash reporter, so that Swiftlet's handler hands over to
    /// the default action, as in a build without the reporter.
    @Test(arguments: [SIGSEGV, SIGABRT, SIGBUS, SIGILL, SIGTRAP, SIGFPE])
    func aFatalSignalRestoresTheTerminalAndStillKills(signal: Int32) throws {
        let result = try Self.killWhileRaw(signal, environment: ["SWIFT_BACKTRACE": "enable=no"])
        #expect(!result.stderr.contains("Program crashed"))
    }

    /// With the Swift runtime's crash reporter (on by default on Linux), Swiftlet's handler
    /// restores the terminal and then hands the signal on: the report still appears. (For a
    /// signal sent from outside, the reporter returns instead of killing; a real fault then
    /// faults again and dies.)
    @Test func theSwiftCrashReportStillFollows() throws {
        let socket = "/tmp/swiftlet-report-\(getpid()).sock"
        defer { unlink(socket) }
        // The reporter is a separate program the runtime executes, and seccomp (rightly) has
        // no execve: with the filter on, a crash kills without a report.
        let run = try TerminalSwiftlet(
            ["run", "--api-sock", socket, "--no-seccomp"], environment: ["SWIFT_BACKTRACE": "enable=yes,interactive=no,output-to=stdout"])
        try waitUntil(timeout: 20, "a raw terminal") { run.terminal.isRaw }
        kill(run.process.processIdentifier, SIGSEGV)
        try waitUntil(timeout: 120, "the crash report") { run.terminal.printed.contains("Program crashed") }
        #expect(run.terminal.isCooked, "the terminal is back to cooked mode")
        run.process.terminate()
        _ = try run.waitForExit(timeout: 30)
    }

    static func killWhileRaw(_ signal: Int32, environment: [String: String]) throws -> SwiftletProcess.Result {
        // A socket, so that swiftlet waits for its configuration with the terminal raw.
        let socket = "/tmp/swiftlet-fatal-\(getpid())-\(signal).sock"
        defer { unlink(socket) }
        let run = try TerminalSwiftlet(["run", "--api-sock", socket], environment: environment)
        try waitUntil(timeout: 20, "a raw terminal") { run.terminal.isRaw }
        kill(run.process.processIdentifier, signal)
        let result = try run.waitForExit(timeout: 60)
        #expect(result.exitedBySignal, "\(result.stderr)")
        #expect(result.status == signal, "died of the same signal")
        #expect(run.terminal.isCooked, "the terminal is back to cooked mode")
        return result
    }
}
