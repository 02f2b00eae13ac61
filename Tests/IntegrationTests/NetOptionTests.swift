import Testing

/// `--net` on the command line: parse errors name the bad part, and a tap that is not there
/// stops the run before the guest starts.
@Suite struct NetOptionTests {
    @Test func netErrorsNameTheBadPart() throws {
        let guest = try TestGuest.path()
        for (argument, expected) in [
            ("tap0", "'tap0' is not KEY=VALUE"),
            ("mac=02:00:00:00:00:01", "'tap=NAME' is required"),
            ("tap=tap0,mac=02:00", "'02:00' is not a MAC address"),
            ("tap=tap0,tap=tap1", "'tap=' is given twice"),
            ("tap=tap0,speed=10", "unknown part 'speed=10'"),
            ("tap=", "'tap=' needs a value"),
        ] {
            _ = try CLIBehaviourTests.expectUsageError(["run", "--kernel", guest, "--net", argument], mentions: ["--net", expected])
        }
    }

    @Test func aMissingTapStopsTheRunBeforeTheGuestStarts() throws {
        let result = try SwiftletProcess.run(["run", "--kernel", try TestGuest.path(), "--cmdline", "test=hello", "--net", "tap=swl-absent0"])
        #expect(result.status != 0)
        #expect(result.stderr.contains("tap device swl-absent0 does not exist"), "\(result.stderr)")
        #expect(!result.stdout.contains("swiftlet-testguest"), "the guest ran: \(result.stdout)")
    }
}
