import Glibc
import ArgumentParser
import ControlAPI
import FoundationEssentials

/// The options every client subcommand shares: which VMM to talk to, and for how long.
struct ClientConnectionOptions: ParsableArguments {
    @Option(
        name: .customLong("api-sock"),
        help: ArgumentHelp(
            "Path of the API socket of the running VMM (the --api-sock given to `swiftlet run`).",
            valueName: "path"))
    var apiSocket: String

    @Option(
        help: ArgumentHelp("Give up if the VMM has not answered after this many seconds.", valueName: "seconds"),
        transform: ClientSupport.seconds)
    var timeout: Int = 30

    var client: APIClient { APIClient(socketPath: apiSocket, timeout: .seconds(timeout)) }
}

enum ClientSupport {
    /// Parses a timeout option: a whole number of seconds, at least 1.
    @Sendable static func seconds(_ argument: String) throws(ClientFailure) -> Int {
        guard let seconds = Int(argument), seconds > 0 else { throw ClientFailure("must be a whole number of seconds, at least 1") }
        return seconds
    }

    /// Runs `body`, turning API and transport errors into one line on stderr and exit status 1
    /// (ArgumentParser would otherwise add usage text that has nothing to do with the failure).
    static func run(_ body: () throws -> Void) throws {
        do {
            try body()
        } catch let error as APIClientError {
            fail(error.message)
        } catch let error as ClientFailure {
            fail(error.message)
        }
    }

    static func fail(_ message: String) -> Never {
        Diagnostics.error(message)
        Glibc.exit(1)
    }

    /// The VMM may run in another directory, so relative paths are resolved here, against
    /// the directory the user typed them in.
    static func absolutePath(_ path: String) -> String {
        if path.hasPrefix("/") { return path }
        let base = FileManager.default.currentDirectoryPath
        return URL(fileURLWithPath: path, relativeTo: URL(fileURLWithPath: base, isDirectory: true)).standardizedFileURL.path
    }

    /// The VM's state string from `GET /` ("Not started", "Running", "Paused").
    static func instanceState(_ client: APIClient) throws -> String {
        let response = try client.checked(method: "GET", path: "/")
        guard case .object(let members)? = response.json, case .string(let state)? = members["state"] else {
            throw ClientFailure("The VMM on \(client.socketPath) sent an unexpected answer to GET /: \(response.bodyText)")
        }
        return state
    }

    static func setState(_ client: APIClient, to state: String) throws {
        _ = try client.checked(method: "PATCH", path: "/vm", json: .object(["state": .string(state)]))
    }
}

/// A client-side failure that is not an API error (bad local input, unexpected answers).
struct ClientFailure: Error, CustomStringConvertible {
    var message: String
    init(_ message: String) { self.message = message }
    var description: String { message }
}
