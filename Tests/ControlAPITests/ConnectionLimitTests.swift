@testable import ControlAPI
import Foundation
import Testing

/// The API's connection cap and timeouts (issue 13: "unbounded API connections").
///
/// Shown failing before the fix: run against main's server (c1d4639), with only a stand-in for
/// `APIConnectionLimits` so the file compiled, `floodOfSilentAndSlowClientsDoesNotLockOutANewOne`
/// failed: the connections over the cap got no 503, and neither the silent nor the slow clients
/// were ever closed by the server (the new client was answered: that alone never failed).
/// `idleKeepAliveConnectionIsClosed` and `slowBodyIsDropped` failed too: nothing was closed.
@Suite("API connection cap and timeouts")
struct ConnectionLimitTests {
    /// Short timeouts keep the test quick; the defaults are longer (see `APIConnectionLimits`).
    static let limits = APIConnectionLimits(maxConnections: 16, requestReadTimeout: .seconds(1), idleTimeout: .seconds(4))

    @Test func floodOfSilentAndSlowClientsDoesNotLockOutANewOne() throws {
        let running = try RunningServer(connectionLimits: Self.limits)
        let path = running.directory.socketPath

        // Fill the cap: clients that never send a byte, and slow-loris clients that send a
        // partial request head and keep it alive with one more header line now and then.
        let silent = try (0..<12).map { _ in try HeldConnection(socketPath: path) }
        let slow = try (0..<4).map { _ in try HeldConnection(socketPath: path) }
        for connection in slow { connection.send("GET / HTTP/1.1\r\nHost: localhost\r\n") }
        // Every connection is counted once the server has accepted it; a request answered on
        // a connection of its own shows the server has got to all of them.
        Thread.sleep(forTimeInterval: 0.3)

        // Over the cap: answered 503 at once and closed.
        let extra = try (0..<4).map { _ in try HeldConnection(socketPath: path) }
        for connection in extra {
            let answer = connection.receive(waitingUpTo: .seconds(3))
            #expect(answer.text.hasPrefix("HTTP/1.1 503"), "over the cap: \(answer.text.debugDescription)")
            #expect(answer.text.contains("Too many open API connections"))
            #expect(answer.closed)
        }

        // The slow clients keep dribbling header lines; the server still drops everyone who has
        // not sent a whole request within the read timeout.
        let start = ContinuousClock.now
        var open = silent + slow
        while !open.isEmpty, ContinuousClock.now - start < .seconds(6) {
            for connection in slow { connection.send("X-Slow: still-here\r\n") }
            open.removeAll { $0.isClosedByServer(waitingUpTo: .milliseconds(20)) }
            Thread.sleep(forTimeInterval: 0.2)
        }
        #expect(open.isEmpty, "\(open.count) of 16 silent or slow connections still open after 6 s")

        // A new client is answered (the slots are free again) within a few seconds.
        let answered = try firstAnswer(to: running.client, within: .seconds(5))
        #expect(answered.status == 200)
    }

    @Test func idleKeepAliveConnectionIsClosed() throws {
        let running = try RunningServer(connectionLimits: Self.limits)
        let connection = try HeldConnection(socketPath: running.directory.socketPath)
        connection.send("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
        let answer = connection.receive(waitingUpTo: .seconds(3), untilAnswered: true)
        #expect(answer.text.hasPrefix("HTTP/1.1 200"))
        #expect(!answer.closed)
        // Idle between requests: the (longer) idle timeout applies, not the read timeout.
        #expect(!connection.isClosedByServer(waitingUpTo: .seconds(2)))
        #expect(connection.isClosedByServer(waitingUpTo: .seconds(6)))
    }

    @Test func slowBodyIsDropped() throws {
        let running = try RunningServer(connectionLimits: Self.limits)
        let connection = try HeldConnection(socketPath: running.directory.socketPath)
        connection.send("PUT /machine-config HTTP/1.1\r\nHost: localhost\r\nContent-Length: 100\r\n\r\n{")
        #expect(connection.isClosedByServer(waitingUpTo: .seconds(4)))
        #expect(running.backend.calls.isEmpty)
    }

    @Test func aLongBackendCallIsNotCutByTheTimeouts() throws {
        // Pausing (or snapshotting) may take longer than any read or idle timeout.
        let running = try RunningServer(backend: FakeBackend(pauseDelay: .seconds(5)), connectionLimits: Self.limits)
        let client = APIClient(socketPath: running.directory.socketPath, timeout: .seconds(20))
        _ = try client.checked(method: "PUT", path: "/boot-source", json: .object(["kernel_image_path": .string("/k")]))
        _ = try client.checked(method: "PUT", path: "/actions", json: .object(["action_type": .string("InstanceStart")]))
        let paused = try client.patch("/vm", json: .object(["state": .string("Paused")]))
        #expect(paused.status == 204)
    }

    @Test func aRequestAfterAnAnswerStillWorksOnTheSameConnection() throws {
        let running = try RunningServer(connectionLimits: Self.limits)
        let connection = try HeldConnection(socketPath: running.directory.socketPath)
        for _ in 0..<3 {
            connection.send("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
            let answer = connection.receive(waitingUpTo: .seconds(2), untilAnswered: true)
            #expect(answer.text.hasPrefix("HTTP/1.1 200"))
            #expect(!answer.closed)
            // Longer than the read timeout between requests, shorter than the idle timeout.
            Thread.sleep(forTimeInterval: 1.5)
        }
    }

    @Test func closedConnectionsFreeTheirSlots() throws {
        let running = try RunningServer(connectionLimits: APIConnectionLimits(maxConnections: 2))
        for _ in 0..<20 {
            #expect(try running.client.get("/").status == 200)
        }
    }

    /// Retries `GET /` while the server still answers 503, until `within` has passed.
    private func firstAnswer(to client: APIClient, within limit: Duration) throws -> APIClientResponse {
        let start = ContinuousClock.now
        while true {
            let response = try client.get("/")
            if response.status != 503 || ContinuousClock.now - start > limit { return response }
            Thread.sleep(forTimeInterval: 0.1)
        }
    }
}
