import Foundation
import Testing

/// `--vsock` on the command line: parse errors name the bad part, a path that is taken
/// stops the run before the guest starts, and a guest boots with the device attached.
@Suite struct VsockOptionTests {
    @Test func vsockErrorsNameTheBadPart() throws {
        let guest = try TestGuest.path()
        for (argument, expected) in [
            ("cid=3", "'uds=PATH' is required"),
            ("uds=/tmp/v.sock", "'cid=N' is required"),
            ("cid=2,uds=/tmp/v.sock", "cid must be between 3 and 4294967294 (got 2"),
            ("cid=three,uds=/tmp/v.sock", "'three' is not a CID"),
            ("cid=3,cid=4,uds=/v", "'cid=' is given twice"),
            ("cid=3,uds=/v,port=1", "unknown part 'port=1'"),
        ] {
            _ = try CLIBehaviourTests.expectUsageError(["run", "--kernel", guest, "--vsock", argument], mentions: ["--vsock", expected])
        }
    }

    @Test func aTakenPathStopsTheRunBeforeTheGuestStarts() throws {
        let taken = FileManager.default.temporaryDirectory.appendingPathComponent("swiftlet-vsock-taken-\(UUID().uuidString)").path
        #expect(FileManager.default.createFile(atPath: taken, contents: Data("mine".utf8)))
        defer { try? FileManager.default.removeItem(atPath: taken) }
        let result = try SwiftletProcess.run(["run", "--kernel", try TestGuest.path(), "--cmdline", "test=hello", "--vsock", "cid=3,uds=\(taken)"])
        #expect(result.status != 0)
        #expect(result.stderr.contains("vsock uds path \(taken) already exists"), "\(result.stderr)")
        #expect(!result.stdout.contains("swiftlet-testguest"), "the guest ran: \(result.stdout)")
        // The user's file is untouched.
        #expect(FileManager.default.contents(atPath: taken) == Data("mine".utf8))
    }

    @Test func aGuestBootsWithTheDeviceOnEitherTransport() throws {
        for transport in ["pci", "mmio"] {
            let path = FileManager.default.temporaryDirectory.appendingPathComponent("swiftlet-vsock-\(UUID().uuidString).sock").path
            defer { try? FileManager.default.removeItem(atPath: path) }
            let result = try SwiftletProcess.run([
                "run", "--kernel", try TestGuest.path(), "--cmdline", "test=hello", "--transport", transport, "--vsock", "cid=3,uds=\(path)",
            ])
            #expect(result.status == 0, "\(transport): \(result.stderr)")
            #expect(result.stdout.contains("swiftlet-testguest"), "\(transport): \(result.stdout)")
        }
    }
}
