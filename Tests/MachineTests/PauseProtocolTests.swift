import CKVM
import Foundation
import KVM
import Logging
import Synchronization
import Testing

@testable import Machine

private let kvmUsable = access("/dev/kvm", R_OK | W_OK) == 0

/// The tiny test guest, built by the project's script (as the integration tests do).
private let testGuest: Result<String, any Error> = Result {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/bin/bash")
    process.arguments = [root.appendingPathComponent("scripts/build-test-guest.sh").path]
    let output = Pipe()
    process.standardOutput = output
    try process.run()
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0, let path = String(decoding: data, as: UTF8.self).split(separator: "\n").last else {
        throw CocoaError(.fileNoSuchFile)
    }
    return String(path)
}

/// Pause against a real vCPU: it must return only when every vCPU has left `KVM_RUN` at an
/// instruction boundary, which after a port I/O exit means after re-entering `KVM_RUN` with
/// `immediate_exit` set so that KVM completes the access. A vCPU parked straight after the
/// exit (its last run `.exited`, not `.interrupted`) has the access half done: its
/// registers do not yet include an IN's data (or, on hardware that retires OUT on re-entry, the
/// OUT's retirement), so a snapshot taken then repeats or loses the access after restore.
@Suite(.serialized, .enabled(if: kvmUsable, "needs read-write access to /dev/kvm"))
struct PauseProtocolTests {
    final class Console: Sendable {
        let bytes = Mutex(0)
        var count: Int { bytes.withLock { $0 } }
    }

    func bootIOStorm(vcpus: Int) throws -> (Machine, Console) {
        let console = Console()
        let machine = try Machine.boot(
            BootConfiguration(kernelPath: try testGuest.get(), commandLine: "test=iostorm", memoryMiB: 16, vcpuCount: vcpus),
            serialOutput: { bytes in console.bytes.withLock { $0 += bytes.count } }, logger: Logger(label: "test"))
        return (machine, console)
    }

    /// Runs `body` on a started 4-vCPU iostorm guest that has printed a little, then stops it.
    func withRunningIOStorm(_ body: (Machine, Console) throws -> Void) throws {
        let (machine, console) = try bootIOStorm(vcpus: 4)
        machine.start()
        defer {
            machine.requestStop(.hostRequest("test over"))
            _ = machine.waitForStop()
        }
        try waitFor { console.count > 1000 }
        try body(machine, console)
    }

    @Test func everyPauseParksEveryVCPUAfterAnInterruptedRunNeverMidAccess() throws {
        try withRunningIOStorm { machine, _ in
            var midAccess = 0
            for _ in 0..<200 {
                try machine.pause()
                midAccess += machine.vcpus.filter { $0.lastOutcome != .interrupted }.count
                try machine.resume()
                usleep(500)
            }
            #expect(midAccess == 0, "\(midAccess) vCPU pauses left an exit half done")
        }
    }

    @Test func pausedVCPUsMakeNoProgressAndAPsWaitForSIPI() throws {
        try withRunningIOStorm { machine, console in
            try machine.pause()
            #expect(machine.state == .paused)
            let atPause = console.count
            usleep(300_000)
            #expect(console.count == atPause, "no output while paused")
            let mpStates = try machine.vcpus.map { try $0.mpState().mp_state }
            #expect(mpStates == [UInt32(KVM_MP_STATE_RUNNABLE)] + Array(repeating: UInt32(KVM_MP_STATE_UNINITIALIZED), count: 3))
            try machine.resume()
            try waitFor { console.count > atPause + 1000 }
        }
    }

    @Test func aStopFromOneVCPUEndsEveryVCPUThreadAtOnce() throws {
        let (machine, _) = try bootIOStorm(vcpus: 4)
        machine.start()
        usleep(100_000)
        let started = Date()
        // What a vCPU does on a triple fault: only the run control, no kick of its own.
        machine.control.stop(.guestFault("test"))
        #expect(machine.waitForStop() == .guestFault("test"))
        #expect(Date().timeIntervalSince(started) < 2, "the APs idle in KVM_RUN and must be kicked, not waited out")
    }

    @Test(arguments: [(UInt64(0x600), UInt8(0x34), StopReason.guestPowerOff("ACPI S5")), (0x602, 0x01, .guestReset("ACPI reset register"))])
    func aWriteToTheACPIPowerRegistersStopsTheMachine(port: UInt64, value: UInt8, expected: StopReason) throws {
        let (machine, _) = try bootIOStorm(vcpus: 2)
        machine.start()
        withUnsafeBytes(of: value) { _ = machine.portBus.write(address: port, data: $0) }
        #expect(machine.waitForStop() == expected)
        #expect(expected.exitCode == 0)
    }

    private func waitFor(timeout: TimeInterval = 20, _ condition: () -> Bool) throws {
        let deadline = Date().addingTimeInterval(timeout)
        while !condition() {
            guard Date() < deadline else { throw CocoaError(.executableLoad) }
            usleep(10_000)
        }
    }
}
