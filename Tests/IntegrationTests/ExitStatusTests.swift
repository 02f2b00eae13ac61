import Foundation
import Testing

/// The exit statuses `run --help` and the README document, checked on real runs.
@Suite(.serialized) struct ExitStatusTests {
    @Test func aTripleFaultExitsWithTheGuestFaultStatus() throws {
        let result = try SwiftletProcess.run(["run", "--kernel", try TestGuest.path(), "--cmdline", "test=triple-fault"], timeout: 30)
        #expect(!result.exitedBySignal)
        #expect(result.status == 2, "stderr: \(result.stderr)")
        #expect(result.stdout.contains("triple-fault: loading an empty IDT"))
        #expect(result.stderr.contains("triple fault"), "\(result.stderr)")
    }

    @Test func aKernelThatCannotBeReadExitsWithTheStartFailedStatus() throws {
        let result = try SwiftletProcess.run(["run", "--kernel", "/nonexistent/kernel"], timeout: 30)
        #expect(!result.exitedBySignal)
        #expect(result.status == 1, "stderr: \(result.stderr)")
    }

    @Test func aUsageErrorExits64() throws {
        let result = try SwiftletProcess.run(["run", "--kernel", "k", "--cpus", "33"], timeout: 30)
        #expect(result.status == 64, "stderr: \(result.stderr)")
    }

    @Test func runHelpShowsTheExitStatusTable() throws {
        let result = try SwiftletProcess.run(["run", "--help"], timeout: 30)
        #expect(result.status == 0)
        for line in ["Exit status:", "triple-faulted", "KVM failed", "usage error"] {
            #expect(result.stdout.contains(line), "\(line) missing from: \(result.stdout)")
        }
    }
}
