import SwiftletCore
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite struct HostFileTests {
    private func temporaryDirectory() -> String {
        var template = Array("/tmp/swiftlet-core-XXXXXX".utf8CString)
        let path = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        return String(cString: path!)
    }

    @Test func readsRegularFiles() throws {
        let directory = temporaryDirectory()
        let path = directory + "/file"
        let fd = open(path, O_CREAT | O_WRONLY, 0o600)
        let contents = [UInt8](repeating: 7, count: 10000)
        _ = contents.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        close(fd)
        #expect(try HostFile.readAll(path, what: "test", limit: 1 << 20) == contents)
        #expect(throws: HostFileError(what: "test", path: path, reason: .tooLarge(limit: 100))) {
            try HostFile.readAll(path, what: "test", limit: 100)
        }
    }

    @Test func refusesWhatIsNotARegularFile() throws {
        let directory = temporaryDirectory()
        #expect(throws: HostFileError(what: "kernel", path: directory, reason: .isDirectory)) {
            try HostFile.readAll(directory, what: "kernel", limit: 1 << 20)
        }
        #expect(throws: HostFileError(what: "kernel", path: "/dev/zero", reason: .notRegularFile)) {
            try HostFile.readAll("/dev/zero", what: "kernel", limit: 1 << 30)
        }
        #expect(throws: HostFileError(what: "kernel", path: directory + "/missing", reason: .notFound)) {
            try HostFile.readAll(directory + "/missing", what: "kernel", limit: 1 << 20)
        }
        // A FIFO with no writer would block a plain open() forever.
        let fifo = directory + "/fifo"
        #expect(mkfifo(fifo, 0o600) == 0)
        #expect(throws: HostFileError(what: "initrd", path: fifo, reason: .notRegularFile)) {
            try HostFile.readAll(fifo, what: "initrd", limit: 1 << 20)
        }
    }

    @Test func systemErrorsSayWhatFailed() {
        let error = SystemError("open", path: "/nowhere", code: ENOENT)
        #expect(error.description == "open /nowhere: No such file or directory")
    }

    @Test func limitsUseOneWording() {
        #expect(throws: MachineLimits.Violation.self) { try MachineLimits.checkMemory(8, field: "--memory") }
        #expect(throws: MachineLimits.Violation.self) { try MachineLimits.checkVCPUCount(33) }
        #expect(throws: MachineLimits.Violation.self) { try MachineLimits.checkDriveID(String(repeating: "a", count: 21)) }
        #expect(throws: MachineLimits.Violation.self) { try MachineLimits.checkDriveID("bad-id") }
        #expect(throws: Never.self) { try MachineLimits.checkDriveID(String(repeating: "a", count: 20)) }
        #expect(throws: Never.self) { try MachineLimits.checkMemory(16) }
    }
}
