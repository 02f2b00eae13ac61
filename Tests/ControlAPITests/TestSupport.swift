@testable import ControlAPI
import Foundation
import Logging

/// A private directory under /tmp with a short path (Unix socket paths are limited to 107
/// bytes, and the test runner's temporary directories can be longer).
final class TemporaryDirectory {
    let path: String

    init() throws {
        var template = Array("/tmp/swlt-api-XXXXXX".utf8CString)
        let created = template.withUnsafeMutableBufferPointer { buffer in
            buffer.baseAddress.flatMap { mkdtemp($0) }
        }
        guard let created else { throw VMMError("mkdtemp failed: errno \(errno)") }
        path = String(cString: created)
    }

    deinit {
        try? FileManager.default.removeItem(atPath: path)
    }

    var socketPath: String { path + "/api.sock" }
}

let silentLogger = Logger(label: "swiftlet.tests", factory: { _ in SwiftLogNoOpLogHandler() })

/// A running server on a fresh socket with a fake backend; stopped by `stop()`.
final class RunningServer {
    let directory: TemporaryDirectory
    let backend: FakeBackend
    let server: APIServer
    let client: APIClient

    init(
        backend: FakeBackend = FakeBackend(), maxBodyBytes: Int = APIServer.defaultMaxBodyBytes,
        connectionLimits: APIConnectionLimits = APIConnectionLimits()
    ) throws {
        directory = try TemporaryDirectory()
        self.backend = backend
        server = APIServer(
            socketPath: directory.socketPath, backend: backend, logger: silentLogger, maxBodyBytes: maxBodyBytes,
            connectionLimits: connectionLimits)
        try server.start()
        client = APIClient(socketPath: directory.socketPath, timeout: .seconds(10))
    }

    deinit {
        server.stop()
    }

    /// Sends raw bytes and returns everything the server sends until it closes the connection
    /// (requests should end with `Connection: close` or be refused).
    func raw(_ request: String) throws -> String {
        String(decoding: try client.exchange(Array(request.utf8), untilClosed: true), as: UTF8.self)
    }
}

extension APIClient {
    func put(_ path: String, body: String) throws -> APIClientResponse {
        try send(method: "PUT", path: path, body: body)
    }
}
