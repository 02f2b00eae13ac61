import Testing

@testable import Machine

@Suite struct StopReasonTests {
    @Test func powerOffResetAndHostStopsExitZero() {
        for reason in [StopReason.guestPowerOff("ACPI S5"), .guestReset("i8042"), .hostRequest("signal 15")] {
            #expect(reason.exitCode == 0, "\(reason)")
            #expect(reason.isClean)
        }
    }

    @Test func everyFailureHasItsOwnNonZeroCode() {
        let failures = [StopReason.guestFault("triple fault"), .vmmFailure("internal error"), .deviceFailure("disk")]
        let codes = failures.map(\.exitCode)
        #expect(codes == [2, 3, 4])
        #expect(!codes.contains(StopReason.ExitStatus.startFailed) && !codes.contains(StopReason.ExitStatus.usage))
        #expect(failures.allSatisfy { !$0.isClean })
    }

    @Test func theHelpTableListsEveryCode() {
        let codes: [Int32] = [0, 1, 2, 3, 4, 64]
        let table = StopReason.ExitStatus.table.split(separator: "\n")
        #expect(table.count == codes.count)
        for (line, code) in zip(table, codes) {
            #expect(line.hasPrefix("\(code) "), "\(line)")
        }
    }

    @Test func aPowerOffSaysSoOnStderr() {
        #expect(StopReason.guestPowerOff("ACPI S5").description.hasPrefix("guest powered off"))
    }
}
