import Foundation
import Testing

/// A swiftlet process left running in the background with its console in a file and its
/// control API on a Unix socket, so a test can watch the guest while it drives the API.
final class RunningSwiftlet {
    let process = Process()
    let directory: URL
    let socketPath: String
    let consolePath: String
    private let stderrPipe = Pipe()
    private let stderrReader: ReadAll

    init(_ arguments: [String], name: String = "vm") throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("swiftlet-it-\(getpid())-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        socketPath = directory.appendingPathComponent("\(name).sock").path
        consolePath = directory.appendingPathComponent("\(name).console").path
        process.executableURL = SwiftletProcess.executable
        process.arguments = ["run", "--api-sock", socketPath, "--serial-out", consolePath] + arguments
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        process.standardError = stderrPipe
        try process.run()
        stderrReader = ReadAll(stderrPipe.fileHandleForReading)
        try waitUntil(timeout: 20, "the API socket to appear") { FileManager.default.fileExists(atPath: self.socketPath) }
        // The socket file appears when it is bound, a moment before the server listens; a
        // request in between is refused (curl reports status 0).
        try waitUntil(timeout: 20, "the API to answer") { (try? self.curl("GET", "/").status) == 200 }
    }

    deinit {
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
        try? FileManager.default.removeItem(at: directory)
    }

    var console: String { (try? String(contentsOfFile: consolePath, encoding: .utf8)) ?? "" }

    /// The `count N` numbers the guest has printed so far (complete lines only).
    var counts: [Int] { Self.countNumbers(in: console) }

    /// The numbers of the complete `count N` lines in `text`. A pause or snapshot can land in
    /// the middle of a line, so an unterminated last line is not a number yet.
    static func countNumbers(in text: String) -> [Int] {
        var complete = text
        if let lastNewline = complete.lastIndex(of: "\n") {
            complete = String(complete[...lastNewline])
        } else {
            complete = ""
        }
        return complete.split(whereSeparator: \.isNewline).compactMap { line in
            line.hasPrefix("count ") ? Int(line.dropFirst(6)) : nil
        }
    }

    /// Whether `numbers` is 1, 2, 3, ... with nothing missing or repeated.
    static func isUnbrokenCount(_ numbers: [Int]) -> Bool {
        numbers == Array(1...max(1, numbers.count)) && !numbers.isEmpty
    }

    func file(_ name: String) -> String { directory.appendingPathComponent(name).path }

    /// Sends one request with curl, a client this project did not write. Returns the HTTP status and body.
    @discardableResult
    func curl(_ method: String, _ path: String, _ body: String? = nil) throws -> (status: Int, body: String) {
        var arguments = ["-s", "--max-time", "60", "--unix-socket", socketPath, "-X", method, "-w", "\n%{http_code}"]
        if let body { arguments += ["-H", "Content-Type: application/json", "-d", body] }
        arguments.append("http://localhost\(path)")
        let output = try Self.runTool("/usr/bin/curl", arguments)
        var lines = output.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let status = Int(lines.popLast() ?? "") ?? -1
        return (status, lines.joined(separator: "\n"))
    }

    func stop() -> (status: Int32, stderr: String) {
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: stderrReader.wait(), as: UTF8.self))
    }

    /// Waits for the process to end by itself.
    func waitForExit(timeout: TimeInterval) throws -> (status: Int32, stderr: String) {
        try waitUntil(timeout: timeout, "swiftlet to exit") { !self.process.isRunning }
        return stop()
    }

    static func runTool(_ path: String, _ arguments: [String]) throws -> String {
        let tool = Process()
        tool.executableURL = URL(fileURLWithPath: path)
        tool.arguments = arguments
        let pipe = Pipe()
        tool.standardOutput = pipe
        try tool.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        tool.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }
}

struct Timeout: Error, CustomStringConvertible {
    let description: String
}

/// Polls `condition` every 20 ms until it holds or `timeout` seconds pass.
func waitUntil(timeout: TimeInterval, _ what: String, _ condition: () -> Bool) throws {
    let deadline = Date().addingTimeInterval(timeout)
    while !condition() {
        guard Date() < deadline else { throw Timeout(description: "timed out after \(timeout) s waiting for \(what)") }
        usleep(20_000)
    }
}
