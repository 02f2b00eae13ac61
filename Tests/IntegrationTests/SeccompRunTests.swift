import Foundation
import Testing

/// `swiftlet run` under its seccomp filter (on by default): the whole integration suite runs
/// with it; here a VMM thread makes a forbidden system call through the debug-only hook.
@Suite(.serialized) struct SeccompRunTests {
    static func countWithForbiddenCall(_ extra: [String]) throws -> SwiftletProcess.Result {
        try SwiftletProcess.run(
            ["run", "--kernel", try TestGuest.path(), "--cmdline", "test=count"] + extra, timeout: 6,
            environment: ["SWIFTLET_DEBUG_FORBIDDEN_SYSCALL": "1"])
    }

    @Test func aForbiddenSystemCallKillsTheProcess() throws {
        let result = try Self.countWithForbiddenCall([])
        #expect(result.exitedBySignal, "\(result.stderr)")
        #expect(result.status == SIGSYS, "killed by SIGSYS, not \(result.status)")
        #expect(result.lines.contains("count 1"), "the guest ran before the call: \(result.stdout)")
    }

    @Test func withoutSeccompTheSameCallIsHarmless() throws {
        // Killed by the test's timeout (SIGTERM, an orderly stop), never by SIGSYS.
        let result = try Self.countWithForbiddenCall(["--no-seccomp"])
        #expect(!result.exitedBySignal, "\(result.status) \(result.stderr)")
        #expect(result.stderr.contains("signal 15"), "\(result.stderr)")
    }

    @Test func aBadFilterFileIsAClearError() throws {
        let path = NSTemporaryDirectory() + "swiftlet-bad-filter-\(getpid()).json"
        try Data("{\"main\": [\"no_such_call\"]}".utf8).write(to: URL(fileURLWithPath: path))
        defer { unlink(path) }
        let result = try SwiftletProcess.run(["run", "--kernel", try TestGuest.path(), "--cmdline", "test=hello", "--seccomp-filter", path])
        #expect(result.status != 0)
        #expect(!result.exitedBySignal)
        #expect(result.stderr.contains("seccomp"), "\(result.stderr)")
        #expect(result.stdout.isEmpty)
    }
}
