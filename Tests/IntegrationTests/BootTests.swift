import Foundation
import Testing

/// End-to-end runs of the swiftlet executable on the host's /dev/kvm with the tiny guest.
@Suite(.serialized, .needsKVM) struct BootTests {
    @Test func helloPrintsExactlyItsLineAndExitsZero() throws {
        let result = try SwiftletProcess.run(["run", "--kernel", try TestGuest.path(), "--cmdline", "test=hello"])
        #expect(result.status == 0, "stderr: \(result.stderr)")
        #expect(result.stdout == "swiftlet-testguest: hello\n")
        #expect(result.stderr.contains("i8042 reset"))
    }

    @Test func echoRoundTripsStdin() throws {
        let input = Data("first line\nsecond: with punctuation!\nquit\n".utf8)
        let result = try SwiftletProcess.run(["run", "--kernel", try TestGuest.path(), "--cmdline", "test=echo"], input: input)
        #expect(result.status == 0, "stderr: \(result.stderr)")
        #expect(result.lines.contains("echo: first line"))
        #expect(result.lines.contains("echo: second: with punctuation!"))
        let echoes = result.lines.filter { $0.hasPrefix("echo: ") }
        #expect(echoes.first == "echo: first line")
    }

    @Test func countPrintsConsecutiveNumbersUntilStopped() throws {
        let result = try SwiftletProcess.run(["run", "--kernel", try TestGuest.path(), "--cmdline", "test=count"], timeout: 4)
        #expect(!result.exitedBySignal)
        // Stopping can cut the last line short; only complete lines are numbers.
        let numbers = RunningSwiftlet.countNumbers(in: result.stdout)
        #expect(numbers.count >= 3, "output: \(result.stdout)")
        #expect(RunningSwiftlet.isUnbrokenCount(numbers))
    }

    @Test func serialOutCanGoToAFile() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("swiftlet-serial-\(getpid()).txt")
        defer { try? FileManager.default.removeItem(at: file) }
        let result = try SwiftletProcess.run(["run", "--kernel", try TestGuest.path(), "--cmdline", "test=hello", "--serial-out", file.path])
        #expect(result.status == 0)
        #expect(result.stdout.isEmpty)
        #expect(try String(contentsOf: file, encoding: .utf8) == "swiftlet-testguest: hello\n")
    }
}
