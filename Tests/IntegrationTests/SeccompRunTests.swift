import Foundation
import Testing

/// `swiftlet run` under its seccomp filter (on by default): the whole integration suite runs
/// with it; here a VMM thread makes a forbidden system call through the debug-only hooks
/// (a Dispatch worker under the process-wide filter, and narrowed vCPU, API and device I/O threads).
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

    /// The guest, with the debug-only hook making `call` on the first thread of `kind` as soon
    /// as that thread has narrowed its filter (`ThreadSandbox`), and the trap mode's report.
    static func countWithCall(_ call: String, onThread kind: String, _ extra: [String] = []) throws -> SwiftletProcess.Result {
        let socket = NSTemporaryDirectory() + "swiftlet-seccomp-\(getpid())-\(kind).sock"
        defer { unlink(socket) }
        return try SwiftletProcess.run(
            ["run", "--kernel", try TestGuest.path(), "--cmdline", "test=count", "--api-sock", socket] + extra, timeout: 6,
            environment: ["SWIFTLET_DEBUG_SYSCALL_ON_THREAD": "\(kind):\(call)", "SWIFTLET_SECCOMP_LOG": "1"])
    }

    @Test func aForbiddenCallOnAVCPUThreadKillsTheProcess() throws {
        let result = try Self.countWithCall("getppid", onThread: "vcpu")
        #expect(result.exitedBySignal && result.status == SIGSYS, "\(result.status) \(result.stderr)")
        #expect(result.stderr.contains("vcpu thread made forbidden system call 110 (getppid)"), "\(result.stderr)")
    }

    /// getcwd is on the `main` list (the process-wide filter) and on no thread kind's own list:
    /// refused on the API, vCPU and device I/O threads shows that each runs under its narrower
    /// list. The device I/O thread exists only with a virtio device, hence the disk.
    @Test(arguments: ["api", "vcpu", "device-io"])
    func aCallOnlyTheMainListAllowsIsRefusedOnNarrowedThreads(kind: String) throws {
        let disk = try DiskTests.makeDisk("seccomp-\(kind)")
        defer { try? FileManager.default.removeItem(at: disk) }
        let result = try Self.countWithCall("getcwd", onThread: kind, ["--disk", disk.path])
        #expect(result.exitedBySignal && result.status == SIGSYS, "\(result.status) \(result.stderr)")
        #expect(result.stderr.contains("\(kind) thread made forbidden system call 79 (getcwd)"), "\(result.stderr)")
        // The same call with seccomp off: harmless, the guest runs until the test's SIGTERM.
        let unfiltered = try Self.countWithCall("getcwd", onThread: kind, ["--disk", disk.path, "--no-seccomp"])
        #expect(!unfiltered.exitedBySignal, "\(unfiltered.status) \(unfiltered.stderr)")
        #expect(unfiltered.lines.contains("count 1"), "\(unfiltered.stdout)")
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
