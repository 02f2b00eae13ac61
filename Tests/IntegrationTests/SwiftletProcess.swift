import Foundation
import Testing

/// Runs the built `swiftlet` executable as a child process, the way a user would, and
/// collects what it prints.
struct SwiftletProcess {
    struct Result {
        let status: Int32
        let exitedBySignal: Bool
        let stdout: String
        let stderr: String
        var lines: [String] { stdout.split(whereSeparator: \.isNewline).map(String.init) }
    }

    static var packageRoot: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    /// The executable SwiftPM built next to the test bundle.
    static var executable: URL {
        var directory = Bundle.main.bundleURL
        if directory.pathExtension == "xctest" { directory.deleteLastPathComponent() }
        let candidate = directory.appendingPathComponent("swiftlet")
        if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        return packageRoot.appendingPathComponent(".build/debug/swiftlet")
    }

    /// Launches swiftlet (or `program`, e.g. a symlink to it) with `arguments`; `input` goes
    /// to its stdin (then EOF). The process is killed after `timeout` seconds.
    static func run(
        _ arguments: [String], input: Data = Data(), timeout: TimeInterval = 60, environment: [String: String] = [:], program: URL = executable
    ) throws -> Result {
        let process = Process()
        process.executableURL = program
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let stdinPipe = Pipe(), stdoutPipe = Pipe(), stderrPipe = Pipe()
        process.standardInput = stdinPipe
        process.standardOutput = stdoutPipe
        process.standardError = stderrPipe
        try process.run()
        stdinPipe.fileHandleForWriting.write(input)
        try stdinPipe.fileHandleForWriting.close()
        let stdoutData = ReadAll(stdoutPipe.fileHandleForReading)
        let stderrData = ReadAll(stderrPipe.fileHandleForReading)
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
        return Result(
            status: process.terminationStatus,
            exitedBySignal: process.terminationReason == .uncaughtSignal,
            stdout: String(decoding: stdoutData.wait(), as: UTF8.self),
            stderr: String(decoding: stderrData.wait(), as: UTF8.self))
    }
}

/// Drains a pipe on a background thread so that a chatty child never blocks on a full pipe.
final class ReadAll: @unchecked Sendable {
    private var data = Data()
    private let done = DispatchSemaphore(value: 0)

    init(_ handle: FileHandle) {
        Thread.detachNewThread { [self] in
            data = handle.readDataToEndOfFile()
            done.signal()
        }
    }

    func wait() -> Data {
        done.wait()
        return data
    }
}

/// The tiny test guest, built once per test run by the project's own script.
enum TestGuest {
    static let image: Result<String, Error> = Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = [SwiftletProcess.packageRoot.appendingPathComponent("scripts/build-test-guest.sh").path]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0,
            let path = String(decoding: data, as: UTF8.self).split(whereSeparator: \.isNewline).last.map(String.init)
        else {
            throw TestGuestBuildFailed()
        }
        return path
    }

    static func path() throws -> String { try image.get() }
}

struct TestGuestBuildFailed: Error, CustomStringConvertible {
    var description: String { "scripts/build-test-guest.sh failed; see its output" }
}
