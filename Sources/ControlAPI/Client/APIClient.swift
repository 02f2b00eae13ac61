import SwiftletCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A small blocking HTTP/1.1 client for a VMM's API socket (Swiftlet's or Firecracker's).
/// One connection per request (`Connection: close`), with an overall deadline, so a wedged
/// VMM produces a timeout error rather than a hung command.
public struct APIClient: Sendable {
    public var socketPath: String
    /// Deadline for one whole request: connect, send, and read the full response.
    public var timeout: Duration

    /// Responses larger than this are refused; the API never sends anything close to it.
    static let maxResponseBytes = 1 << 20

    public init(socketPath: String, timeout: Duration = .seconds(10)) {
        self.socketPath = socketPath
        self.timeout = timeout
    }

    public func get(_ path: String) throws(APIClientError) -> APIClientResponse {
        try send(method: "GET", path: path)
    }

    public func put(_ path: String, json: JSONValue) throws(APIClientError) -> APIClientResponse {
        try send(method: "PUT", path: path, body: json.serialized())
    }

    public func patch(_ path: String, json: JSONValue) throws(APIClientError) -> APIClientResponse {
        try send(method: "PATCH", path: path, body: json.serialized())
    }

    /// Like `send`, but a non-2xx answer throws an error carrying the VMM's `fault_message`.
    public func checked(method: String, path: String, json: JSONValue? = nil) throws(APIClientError) -> APIClientResponse {
        let response = try send(method: method, path: path, body: json?.serialized())
        guard response.isSuccess else {
            let reason = response.faultMessage ?? (response.body.isEmpty ? "no details given" : response.bodyText)
            throw APIClientError("The VMM refused \(method) \(path) (HTTP \(response.status)): \(reason)", status: response.status)
        }
        return response
    }

    /// Sends one request and returns whatever the server answered (any status).
    public func send(method: String, path: String, body: String? = nil) throws(APIClientError) -> APIClientResponse {
        var request = "\(method) \(path) HTTP/1.1\r\nHost: localhost\r\nAccept: application/json\r\nConnection: close\r\n"
        let bodyBytes = body.map { Array($0.utf8) } ?? []
        if body != nil {
            request += "Content-Type: application/json\r\nContent-Length: \(bodyBytes.count)\r\n"
        }
        request += "\r\n"
        let raw = try exchange(Array(request.utf8) + bodyBytes)
        return try HTTPResponseParser.parse(raw, socketPath: socketPath)
    }

    /// Writes `requestBytes` to a fresh connection and reads until the server closes it or a
    /// complete response has arrived (or only when it closes, if `untilClosed`). Internal so
    /// tests can send deliberately broken or pipelined HTTP.
    func exchange(_ requestBytes: [UInt8], untilClosed: Bool = false) throws(APIClientError) -> [UInt8] {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        let connection = try connect()
        defer { close(connection) }

        var sent = 0
        while sent < requestBytes.count {
            try wait(for: connection, events: Int16(POLLOUT), until: deadline)
            let result = requestBytes.withUnsafeBytes { bytes in
                retryingOnInterrupt {
                    Glibc.send(connection, bytes.baseAddress.map { $0 + sent }, bytes.count - sent, Int32(MSG_NOSIGNAL))
                }
            }
            if result < 0 {
                if errno == EAGAIN { continue }
                // The server may answer and close before reading everything (e.g. a body that is
                // too large); whatever it said is more useful than EPIPE.
                if errno == EPIPE || errno == ECONNRESET { break }
                throw APIClientError("Cannot send the request to \(socketPath): \(SystemError.message(errno)).")
            }
            sent += result
        }

        var response: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16 * 1024)
        while untilClosed || !HTTPResponseParser.isComplete(response) {
            try wait(for: connection, events: Int16(POLLIN), until: deadline)
            let count = chunk.withUnsafeMutableBytes { buffer in
                retryingOnInterrupt { recv(connection, buffer.baseAddress, buffer.count, 0) }
            }
            if count < 0 {
                if errno == EAGAIN { continue }
                if errno == ECONNRESET, !response.isEmpty { break }
                throw APIClientError("Cannot read the answer from \(socketPath): \(SystemError.message(errno)).")
            }
            if count == 0 { break }
            response.append(contentsOf: chunk[0..<count])
            guard response.count <= APIClient.maxResponseBytes else {
                throw APIClientError("The answer from \(socketPath) is larger than \(APIClient.maxResponseBytes) bytes.")
            }
        }
        return response
    }

    private func connect() throws(APIClientError) -> Int32 {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        guard fd >= 0 else { throw APIClientError("Cannot create a socket: \(SystemError.message(errno)).") }
        let error = UnixSocketFile.withSocketAddress(socketPath) { address, length in
            Glibc.connect(fd, address, length) == 0 ? 0 : errno
        }
        guard error != 0 else { return fd }
        close(fd)
        throw APIClientError(connectFailure(error))
    }

    /// What a failed connect means to the person who typed the socket path.
    private func connectFailure(_ error: Int32) -> String {
        switch error {
        case ENOENT:
            "No Swiftlet is listening on \(socketPath): the socket does not exist. Is `swiftlet run --api-sock \(socketPath)` running?"
        case ECONNREFUSED:
            "No Swiftlet is listening on \(socketPath): the socket is left over from a VMM that has exited."
        case EAGAIN:
            "The VMM on \(socketPath) is not accepting connections (its backlog is full); try again."
        case EACCES, EPERM:
            "Permission denied connecting to \(socketPath); the API socket is only open to the user who started Swiftlet."
        case ENOTSOCK:
            "\(socketPath) is not a socket."
        case ENAMETOOLONG:
            "The socket path \(socketPath) is too long for a Unix socket (at most \(UnixSocketFile.maxPathBytes) bytes)."
        default:
            "Cannot connect to \(socketPath): \(SystemError.message(error))."
        }
    }

    private func wait(for fd: Int32, events: Int16, until deadline: ContinuousClock.Instant) throws(APIClientError) {
        while true {
            let remaining = ContinuousClock.now.duration(to: deadline)
            let milliseconds = remaining.components.seconds * 1000 + remaining.components.attoseconds / 1_000_000_000_000_000
            guard milliseconds > 0 else {
                throw APIClientError("Timed out after \(timeout) waiting for the VMM on \(socketPath) to answer.")
            }
            var descriptor = pollfd(fd: fd, events: events, revents: 0)
            // An interrupted poll starts again with the same timeout: only a stream of signals
            // could stretch the deadline, and a timeout re-reads the clock above.
            let ready = retryingOnInterrupt { poll(&descriptor, 1, Int32(clamping: milliseconds)) }
            if ready > 0 { return }
            if ready < 0 {
                throw APIClientError("Waiting for \(socketPath) failed: \(SystemError.message(errno)).")
            }
        }
    }
}
