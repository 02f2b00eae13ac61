import Foundation
import Testing

/// A guest that never stops writing to its serial port is paused, snapshotted and restored in
/// a fresh process, over and over. Most pauses land while a vCPU is in the middle of a port
/// write exit; if the VMM parked it there without completing the exit, the restored guest
/// would execute the `out` again (a doubled byte) or skip it (a lost one).
@Suite(.serialized) struct IOStormSnapshotTests {
    static let cycles = 200

    @Test func pauseSnapshotRestoreCyclesNeitherRepeatNorLoseConsoleBytes() throws {
        // Snapshots are fsynced; on tmpfs that costs nothing, which keeps 200 cycles short.
        let base = access("/dev/shm", W_OK) == 0 ? URL(fileURLWithPath: "/dev/shm") : FileManager.default.temporaryDirectory
        let directory = base.appendingPathComponent("swiftlet-iostorm-\(getpid())-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }

        var console = ""
        var snapshot: (state: String, memory: String)?
        for cycle in 0...Self.cycles {
            let arguments: [String]
            if let snapshot {
                arguments = ["--restore", snapshot.state, "--mem", snapshot.memory]
            } else {
                arguments = ["--kernel", try TestGuest.path(), "--cmdline", "test=iostorm", "--memory", "16"]
            }
            let vm = try RunningSwiftlet(arguments, name: "cycle\(cycle)")
            // A short run: enough for the guest to be mid-stream, not so much that 200 cycles drag.
            try waitUntil(timeout: 20, "console output in cycle \(cycle)") { vm.console.utf8.count >= 64 }
            let pause = try vm.curl("PATCH", "/vm", #"{"state": "Paused"}"#)
            try #require(pause.status == 204, "cycle \(cycle): \(pause.body)")
            let next = (
                state: directory.appendingPathComponent("s\(cycle % 2).state").path,
                memory: directory.appendingPathComponent("s\(cycle % 2).mem").path
            )
            let create = try vm.curl("PUT", "/snapshot/create", #"{"snapshot_path": "\#(next.state)", "mem_file_path": "\#(next.memory)"}"#)
            try #require(create.status == 204, "cycle \(cycle): \(create.body)")
            _ = vm.stop()
            console += vm.console
            snapshot = next
        }
        let problems = Self.iostormProblems(console)
        #expect(problems.isEmpty, "\(problems.prefix(10))")
        #expect(console.utf8.count > 64 * Self.cycles)
    }

    /// Every complete line must be `iostorm N N` with N = 0, 1, 2, …; only the very last line
    /// may be cut short (the last process stopped mid-line).
    static func iostormProblems(_ text: String) -> [String] {
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        lines.removeLast()  // empty after a final newline, else the torn tail
        var problems: [String] = []
        for (expected, line) in lines.enumerated() where line != "iostorm \(expected) \(expected)" {
            problems.append("line \(expected): \(line.debugDescription)")
        }
        return problems
    }

    @Test func theCheckerNoticesADoubledALostAndATornLine() {
        #expect(Self.iostormProblems("iostorm 0 0\niostorm 1 1\niostorm 2").isEmpty)
        #expect(!Self.iostormProblems("iostorm 0 0\niostorm 1 1\niostorm 1 1\n").isEmpty)
        #expect(!Self.iostormProblems("iostorm 0 0\niostorm 2 2\n").isEmpty)
        #expect(!Self.iostormProblems("iostorm 0 0\niostorm 11 1\n").isEmpty)
        #expect(!Self.iostormProblems("iostorm 0 0\niostorm 1 1\n\n").isEmpty)
    }
}
