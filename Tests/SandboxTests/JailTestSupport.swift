import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The tiny test guest, built once per test run by the project's own script.
enum TestGuestImage {
    static let image: Result<String, Error> = Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = [ChildProcess.packageRoot.appendingPathComponent("scripts/build-test-guest.sh").path]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0, let path = String(decoding: data, as: UTF8.self).split(whereSeparator: \.isNewline).last
        else { throw SupportFailure(description: "scripts/build-test-guest.sh failed; see its output") }
        return String(path)
    }

    static func path() throws -> String { try image.get() }
}

struct SupportFailure: Error, CustomStringConvertible {
    var description: String
}

/// The shared libraries a dynamically linked executable loads (the loader's own list, as `ldd`
/// prints it), for linking into a jail. A static executable has none.
enum SharedLibraries {
    static func of(_ executable: String) throws -> [String] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/ldd")
        process.arguments = [executable]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        // "libX.so => /path/libX.so (0x...)" or "/lib64/ld-linux-x86-64.so.2 (0x...)".
        return text.split(separator: "\n").compactMap { line in
            let words = line.split(whereSeparator: \.isWhitespace)
            if let arrow = words.firstIndex(of: "=>"), arrow + 1 < words.count, words[arrow + 1].hasPrefix("/") { return String(words[arrow + 1]) }
            if let first = words.first, first.hasPrefix("/") { return String(first) }
            return nil
        }
    }
}

/// A child process whose output goes to files, polled while it runs.
final class BackgroundProcess {
    let process = Process()
    let stdoutPath = FileManager.default.temporaryDirectory.appendingPathComponent("jail-\(UUID().uuidString).out").path
    let stderrPath = FileManager.default.temporaryDirectory.appendingPathComponent("jail-\(UUID().uuidString).err").path

    init(_ executable: URL, _ arguments: [String]) throws {
        _ = FileManager.default.createFile(atPath: stdoutPath, contents: nil)
        _ = FileManager.default.createFile(atPath: stderrPath, contents: nil)
        process.executableURL = executable
        process.arguments = arguments
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: stdoutPath))
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: stderrPath))
        try process.run()
    }

    var stdout: String { (try? String(contentsOfFile: stdoutPath, encoding: .utf8)) ?? "" }
    var stderr: String { (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "" }

    /// Polls `condition` for up to `timeout` seconds; fails with the process's output if it
    /// never holds or the process ends first.
    func waitFor<T>(_ what: String, timeout: TimeInterval = 30, _ condition: () -> T?) throws -> T {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if let value = condition() { return value }
            if !process.isRunning { break }
            usleep(50_000)
        }
        throw SupportFailure(description: "waiting for \(what): stdout \(stdout.suffix(2000)) stderr \(stderr.suffix(2000))")
    }

    func stop() {
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
        unlink(stdoutPath)
        unlink(stderrPath)
    }
}

/// One HTTP exchange over a Unix socket, read until the server closes.
enum UnixSocketRequest {
    static func send(_ request: String, to path: String) throws -> String {
        let descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw SupportFailure(description: "socket: \(errno)") }
        defer { close(descriptor) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else { throw SupportFailure(description: "socket path too long") }
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: bytes) }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard connected == 0 else { throw SupportFailure(description: "connect \(path): errno \(errno)") }
        let message = Array(request.utf8)
        guard message.withUnsafeBytes({ write(descriptor, $0.baseAddress, $0.count) }) == message.count else {
            throw SupportFailure(description: "write to \(path)")
        }
        var answer = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count <= 0 { break }
            answer += buffer[0..<count]
        }
        return String(decoding: answer, as: UTF8.self)
    }
}
