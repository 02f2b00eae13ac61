import Foundation
import Testing

/// Bad kernels and options must end in a clear message and a non-zero exit, never a crash.
@Suite(.serialized, .needsKVM) struct BadInputTests {
    static let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("swiftlet-bad-input-\(getpid())")

    static func file(_ name: String, _ bytes: [UInt8]) throws -> String {
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        let url = scratch.appendingPathComponent(name)
        try Data(bytes).write(to: url)
        return url.path
    }

    static func expectCleanFailure(_ arguments: [String], mentions expected: String) throws {
        let result = try SwiftletProcess.run(arguments, timeout: 30)
        #expect(!result.exitedBySignal, "swiftlet died by a signal: \(result.stderr)")
        #expect(result.status != 0)
        #expect(result.stderr.localizedCaseInsensitiveContains(expected), "stderr was: \(result.stderr)")
    }

    @Test func missingKernelFile() throws {
        try Self.expectCleanFailure(["run", "--kernel", "/nonexistent/vmlinuz"], mentions: "does not exist")
    }

    @Test func kernelPathIsADirectory() throws {
        try Self.expectCleanFailure(["run", "--kernel", NSTemporaryDirectory()], mentions: "directory")
    }

    @Test func emptyKernelFile() throws {
        try Self.expectCleanFailure(["run", "--kernel", try Self.file("empty", [])], mentions: "empty")
    }

    @Test func randomBytesAreNotAKernel() throws {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<65536).map { _ in UInt8.random(in: 0...255, using: &generator) }
        try Self.expectCleanFailure(["run", "--kernel", try Self.file("random", bytes)], mentions: "not a Linux kernel")
    }

    @Test func truncatedTestGuest() throws {
        let image = try [UInt8](Data(contentsOf: URL(fileURLWithPath: try TestGuest.path())))
        try Self.expectCleanFailure(["run", "--kernel", try Self.file("truncated", Array(image.prefix(200)))], mentions: "truncated")
    }

    @Test func missingInitrd() throws {
        try Self.expectCleanFailure(["run", "--kernel", try TestGuest.path(), "--initrd", "/nonexistent/initrd"], mentions: "initrd")
    }

    @Test func absurdMemorySize() throws {
        try Self.expectCleanFailure(["run", "--kernel", try TestGuest.path(), "--memory", "0"], mentions: "memory")
    }

    @Test func missingKVMDeviceIsExplained() throws {
        let result = try SwiftletProcess.run(
            ["run", "--kernel", try TestGuest.path()], timeout: 30, environment: ["SWIFTLET_KVM_DEVICE": "/nonexistent/kvm"])
        #expect(result.status != 0 && !result.exitedBySignal)
        #expect(result.stderr.contains("/nonexistent/kvm does not exist: load the kvm module"), "\(result.stderr)")
    }

    @Test func aDeviceThatIsNotKVMIsExplained() throws {
        let result = try SwiftletProcess.run(
            ["run", "--kernel", try TestGuest.path()], timeout: 30, environment: ["SWIFTLET_KVM_DEVICE": "/dev/null"])
        #expect(result.status != 0 && !result.exitedBySignal)
        #expect(result.stderr.contains("/dev/null is not a KVM device"), "\(result.stderr)")
    }

    @Test func missingRequiredKernelOption() throws {
        try Self.expectCleanFailure(["run"], mentions: "--kernel")
    }
}
