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

    /// The guest reads the CMOS clock as Linux's rtc_cmos does. With seccomp on (the default)
    /// this runs the clock on a narrowed vCPU thread, where looking up the host's time zone
    /// (as Foundation's Calendar does) is a forbidden file access that kills the VMM.
    @Test func theCMOSClockReadsTheHostsUTCTimeUnderSeccomp() throws {
        let before = Date()
        let result = try SwiftletProcess.run(["run", "--kernel", try TestGuest.path(), "--cmdline", "test=rtc"])
        let after = Date()
        #expect(result.status == 0, "stderr: \(result.stderr)")
        let line = try #require(result.lines.first { $0.hasPrefix("swiftlet-testguest: rtc: ") }, "stdout: \(result.stdout)")
        let match = try #require(line.firstMatch(of: /rtc: bcd (\d{4})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d)$/), "\(line)")
        var components = DateComponents()
        (components.year, components.month, components.day) = (Int(match.1), Int(match.2), Int(match.3))
        (components.hour, components.minute, components.second) = (Int(match.4), Int(match.5), Int(match.6))
        var utc = Calendar(identifier: .gregorian)
        utc.timeZone = try #require(TimeZone(secondsFromGMT: 0))
        let reported = try #require(utc.date(from: components), "\(line)")
        // Whole seconds, read register by register: allow a second either side.
        #expect(reported >= before.addingTimeInterval(-2) && reported <= after.addingTimeInterval(1), "\(line), host \(before)...\(after)")
    }
}
