import Foundation
import SwiftletCore
import Testing
@testable import Machine

/// The doors a boot goes through before any KVM object exists: limits and boot files.
@Suite struct BootFileTests {
    @Test func aFIFOIsRefusedInsteadOfBlocking() throws {
        let directory = try TemporaryDirectory()
        let fifo = directory.path + "/kernel"
        try #require(mkfifo(fifo, 0o600) == 0)
        do {
            _ = try Machine.readBootFile(fifo, what: "kernel")
            Issue.record("a FIFO was read as a kernel")
        } catch {
            guard case .hostFile(let cause) = error else { Issue.record("\(error)"); return }
            #expect(cause.reason == .notRegularFile)
            #expect(error.description == "kernel path \(fifo) is not a regular file (a FIFO, socket or device)")
        }
    }

    @Test func anEndlessDeviceIsRefused() {
        #expect(throws: MachineError.self) { try Machine.readBootFile("/dev/zero", what: "initrd") }
    }

    @Test func aMissingFileNamesWhatItIsFor() {
        do {
            _ = try Machine.readBootFile("/nonexistent/vmlinuz", what: "kernel")
            Issue.record("a missing file was read")
        } catch {
            #expect(error.description == "kernel file /nonexistent/vmlinuz does not exist")
        }
    }

    @Test func limitsAreCheckedWithTheSharedWording() {
        let tooSmall = BootConfiguration(kernelPath: "/unused", memoryMiB: 8)
        do {
            try Machine.validate(tooSmall)
            Issue.record("8 MiB was accepted")
        } catch {
            guard case .limit(let violation) = error else { Issue.record("\(error)"); return }
            #expect(violation.field == "memory")
            #expect(error.description == "invalid configuration: memory must be between 16 and 1048576 MiB (got 8)")
        }
        #expect(throws: MachineError.self) { try Machine.validate(BootConfiguration(kernelPath: "/unused", vcpuCount: 33)) }
        #expect(throws: Never.self) { try Machine.validate(BootConfiguration(kernelPath: "/unused", memoryMiB: 16, vcpuCount: 32)) }
    }
}
