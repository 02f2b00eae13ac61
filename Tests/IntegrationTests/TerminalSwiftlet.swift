import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A swiftlet process whose stdin and stdout are a pseudo-terminal, as when a user runs it in
/// a shell; stderr is collected separately.
final class TerminalSwiftlet {
    let terminal: PseudoTerminal
    let process = Process()
    private let stderrPipe = Pipe()
    private let stderrReader: ReadAll

    init(_ arguments: [String], environment: [String: String] = [:]) throws {
        terminal = try PseudoTerminal()
        // Through a shell only to switch core dumps off: some tests kill swiftlet with SIGSEGV.
        // `exec` makes the shell's process swiftlet itself.
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", "ulimit -c 0; exec \"$0\" \"$@\"", SwiftletProcess.executable.path] + arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        process.standardInput = terminal.handle
        process.standardOutput = terminal.handle
        process.standardError = stderrPipe
        try process.run()
        stderrReader = ReadAll(stderrPipe.fileHandleForReading)
    }

    deinit {
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
    }

    /// Waits for the process to end by itself (it is killed after `timeout` seconds).
    func waitForExit(timeout: TimeInterval) throws -> SwiftletProcess.Result {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        let timedOut = process.isRunning
        if timedOut { process.terminate() }
        process.waitUntilExit()
        let stderr = String(decoding: stderrReader.wait(), as: UTF8.self)
        if timedOut { throw Timeout(description: "swiftlet did not exit within \(timeout) s; stderr: \(stderr)") }
        return SwiftletProcess.Result(
            status: process.terminationStatus, exitedBySignal: process.terminationReason == .uncaughtSignal,
            stdout: terminal.printed, stderr: stderr)
    }
}
