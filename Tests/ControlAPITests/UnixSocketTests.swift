@testable import ControlAPI
import Foundation
import Testing

@Suite("API socket file handling")
struct UnixSocketTests {
    @Test func socketIsPrivateAndRemovedOnStop() throws {
        let directory = try TemporaryDirectory()
        let server = APIServer(socketPath: directory.socketPath, backend: FakeBackend(), logger: silentLogger)
        try server.start()
        var status = stat()
        #expect(lstat(directory.socketPath, &status) == 0)
        #expect(status.st_mode & S_IFMT == S_IFSOCK)
        #expect(status.st_mode & 0o777 == 0o600)
        #expect(server.isRunning)

        server.stop()
        #expect(!server.isRunning)
        #expect(!FileManager.default.fileExists(atPath: directory.socketPath))
        #expect(throws: APIClientError.self) { try APIClient(socketPath: directory.socketPath).get("/") }
        server.stop()  // idempotent
    }

    @Test func staleSocketIsReplaced() throws {
        let directory = try TemporaryDirectory()
        try makeStaleSocket(at: directory.socketPath)
        #expect(UnixSocketFile.probe(directory.socketPath) == .stale)

        let server = APIServer(socketPath: directory.socketPath, backend: FakeBackend(), logger: silentLogger)
        try server.start()
        defer { server.stop() }
        #expect(try APIClient(socketPath: directory.socketPath).get("/").status == 200)
    }

    @Test func liveSocketIsRefusedAndLeftWorking() throws {
        let directory = try TemporaryDirectory()
        let first = APIServer(socketPath: directory.socketPath, backend: FakeBackend(), logger: silentLogger)
        try first.start()
        defer { first.stop() }

        let second = APIServer(socketPath: directory.socketPath, backend: FakeBackend(), logger: silentLogger)
        do {
            try second.start()
            Issue.record("a second server took over a live socket")
            second.stop()
        } catch {
            #expect(String(describing: error).contains("already listening"))
        }
        #expect(try APIClient(socketPath: directory.socketPath).get("/").status == 200)
    }

    @Test func nonSocketFileIsNeverDeleted() throws {
        let directory = try TemporaryDirectory()
        try Data("precious".utf8).write(to: URL(fileURLWithPath: directory.socketPath))
        let server = APIServer(socketPath: directory.socketPath, backend: FakeBackend(), logger: silentLogger)
        do {
            try server.start()
            Issue.record("started over a regular file")
            server.stop()
        } catch {
            #expect(String(describing: error).contains("is not a socket"))
        }
        #expect(try String(contentsOfFile: directory.socketPath, encoding: .utf8) == "precious")
    }

    @Test func stopLeavesAFileThatReplacedTheSocket() throws {
        let directory = try TemporaryDirectory()
        let server = APIServer(socketPath: directory.socketPath, backend: FakeBackend(), logger: silentLogger)
        try server.start()
        unlink(directory.socketPath)
        try Data("someone else's".utf8).write(to: URL(fileURLWithPath: directory.socketPath))
        server.stop()
        #expect(FileManager.default.fileExists(atPath: directory.socketPath))
    }

    @Test func overlongPathIsRefusedClearly() throws {
        let path = "/tmp/" + String(repeating: "s", count: 120)
        let server = APIServer(socketPath: path, backend: FakeBackend(), logger: silentLogger)
        #expect(throws: APIServerError.self) { try server.start() }
        #expect(!FileManager.default.fileExists(atPath: path))
    }

    @Test func missingDirectoryIsAnError() throws {
        let server = APIServer(socketPath: "/tmp/swlt-no-such-dir-\(getpid())/api.sock", backend: FakeBackend(), logger: silentLogger)
        do {
            try server.start()
            Issue.record("bound in a missing directory")
        } catch {
            #expect(String(describing: error).contains("Cannot bind"))
        }
    }

    @Test func clientExplainsAMissingOrStaleVMM() throws {
        let directory = try TemporaryDirectory()
        do {
            _ = try APIClient(socketPath: directory.socketPath).get("/")
            Issue.record("connected to nothing")
        } catch {
            #expect(error.message.contains("No Swiftlet is listening on \(directory.socketPath)"))
            #expect(error.status == nil)
        }
        try makeStaleSocket(at: directory.socketPath)
        do {
            _ = try APIClient(socketPath: directory.socketPath).get("/")
            Issue.record("connected to a stale socket")
        } catch {
            #expect(error.message.contains("No Swiftlet is listening"))
        }
    }

    @Test func clientTimesOutOnASilentServer() throws {
        let directory = try TemporaryDirectory()
        // Listening but never accepting: connect succeeds (backlog), no answer ever comes.
        let fd = try makeStaleSocket(at: directory.socketPath, listening: true)
        defer { close(fd) }
        let clock = ContinuousClock()
        let started = clock.now
        do {
            _ = try APIClient(socketPath: directory.socketPath, timeout: .milliseconds(300)).get("/")
            Issue.record("got an answer from a silent socket")
        } catch {
            #expect(error.message.contains("Timed out"))
        }
        #expect(clock.now - started < .seconds(3))
    }

    /// Binds a socket at `path`; closes it (leaving a stale file) unless `listening`.
    @discardableResult
    private func makeStaleSocket(at path: String, listening: Bool = false) throws -> Int32 {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        let error = UnixSocketFile.withSocketAddress(path) { address, length in
            bind(fd, address, length) == 0 ? 0 : errno
        }
        guard error == 0 else { throw VMMError("bind failed: \(error)") }
        if listening {
            guard listen(fd, 4) == 0 else { throw VMMError("listen failed") }
            return fd
        }
        close(fd)
        return -1
    }
}
