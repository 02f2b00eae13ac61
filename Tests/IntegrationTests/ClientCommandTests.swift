import Foundation
import Testing

/// The `swiftlet pause|resume|status|snapshot|restore` client subcommands against a live VMM.
@Suite(.serialized, .needsKVM) struct ClientCommandTests {
    @Test func clientSubcommandsDriveTheWholeCycle() throws {
        let vm = try RunningSwiftlet(["--kernel", try TestGuest.path(), "--cmdline", "test=count"])
        try waitUntil(timeout: 20, "the guest to count") { vm.counts.count >= 2 }
        let socket = ["--api-sock", vm.socketPath]

        let status = try SwiftletProcess.run(["status"] + socket)
        #expect(status.status == 0)
        #expect(status.stdout.contains("Running"))

        #expect(try SwiftletProcess.run(["pause"] + socket).status == 0)
        let atPause = vm.counts
        usleep(500_000)
        #expect(vm.counts == atPause)
        #expect(try SwiftletProcess.run(["status"] + socket).stdout.contains("Paused"))

        let consoleAtSnapshot = vm.console
        let state = vm.file("c.state"), memory = vm.file("c.mem")
        let snapshot = try SwiftletProcess.run(["snapshot"] + socket + ["--state", state, "--mem-file", memory])
        #expect(snapshot.status == 0, "\(snapshot.stderr)")
        #expect(try SwiftletProcess.run(["resume"] + socket).status == 0)
        try waitUntil(timeout: 20, "output after resume") { vm.counts.count > atPause.count }
        _ = vm.stop()

        let fresh = try RunningSwiftlet([], name: "client-restore")
        let restore = try SwiftletProcess.run(["restore", "--api-sock", fresh.socketPath, "--state", state, "--mem-file", memory, "--resume"])
        #expect(restore.status == 0, "\(restore.stderr)")
        try waitUntil(timeout: 20, "the restored guest to count") { fresh.counts.count >= 2 }
        let together = RunningSwiftlet.countNumbers(in: consoleAtSnapshot + fresh.console)
        #expect(RunningSwiftlet.isUnbrokenCount(together), "\(together.suffix(8))")
        #expect((together.last ?? 0) > (atPause.last ?? 0) + 1)
    }

    @Test func clientReportsAMissingVMMClearly() throws {
        let result = try SwiftletProcess.run(["pause", "--api-sock", "/nonexistent/swiftlet.sock"])
        #expect(result.status != 0)
        #expect(!result.exitedBySignal)
        #expect(result.stderr.contains("/nonexistent/swiftlet.sock"))
    }
}
