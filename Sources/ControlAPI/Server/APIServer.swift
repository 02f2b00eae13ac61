import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import Sandbox
import Synchronization

/// Firecracker's REST API over a Unix socket, served by one NIO event loop thread while the
/// vCPUs run; backend calls run on a separate serial queue (see `VMMBackend`).
///
/// Connections are capped and timed (`APIConnectionLimits`): a client cannot hold the VMM's
/// descriptors by connecting and stalling.
///
/// The socket file is created with mode 0600 and removed by `stop()`. A stale socket left
/// by a crashed VMM is replaced; a live one, or any other file at that path, makes `start()`
/// fail with an `APIServerError` that says why.
public final class APIServer: Sendable {
    /// Firecracker's API bodies are tiny; anything this large is a mistake or an attack.
    public static let defaultMaxBodyBytes = 64 * 1024

    public let socketPath: String
    private let dispatcher: BackendDispatcher
    private let logger: Logger
    private let maxBodyBytes: Int
    private let connectionLimits: APIConnectionLimits
    private let running = Mutex<Running?>(nil)

    private struct Running: Sendable {
        var group: MultiThreadedEventLoopGroup
        var channel: any Channel
        var socketIdentity: FileIdentity
    }

    public init(
        socketPath: String, backend: any VMMBackend, logger: Logger,
        maxBodyBytes: Int = APIServer.defaultMaxBodyBytes, connectionLimits: APIConnectionLimits = APIConnectionLimits()
    ) {
        self.socketPath = socketPath
        self.dispatcher = BackendDispatcher(backend: backend, logger: logger)
        self.logger = logger
        self.maxBodyBytes = maxBodyBytes
        self.connectionLimits = connectionLimits
    }

    /// Binds the socket and starts accepting. Returns once clients can connect.
    /// Must not be called on an event loop thread.
    public func start() throws {
        try running.withLock { running in
            guard running == nil else { throw APIServerError("The API server on \(socketPath) is already running.") }
            guard socketPath.utf8.count <= UnixSocketFile.maxPathBytes else {
                throw APIServerError(
                    "The API socket path \(socketPath) is \(socketPath.utf8.count) bytes; Unix sockets allow at most \(UnixSocketFile.maxPathBytes).")
            }
            try UnixSocketFile.clearStaleSocket(at: socketPath)
            let (descriptor, identity) = try UnixSocketFile.bindSocket(at: socketPath)

            let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
            // The group's one thread serves this API until the server stops, and then ends.
            group.next().execute { ThreadSandbox.narrowCurrentThread(to: .api) }
            let dispatcher = self.dispatcher
            let maxBodyBytes = self.maxBodyBytes
            let logger = self.logger
            let limits = self.connectionLimits
            let connections = APIConnectionCounter(limit: limits.maxConnections)
            let bootstrap = ServerBootstrap(group: group)
                .serverChannelOption(.backlog, value: 64)
                .childChannelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        let pipeline = channel.pipeline.syncOperations
                        guard connections.admit() else {
                            logger.debug("API connection refused: \(limits.maxConnections) connections are open")
                            try pipeline.addHandler(APIServerBusyResponder(limit: limits.maxConnections))
                            return
                        }
                        channel.closeFuture.whenComplete { _ in connections.release() }
                        try pipeline.addHandler(APIConnectionDeadline(limits: limits, logger: logger))
                        try pipeline.configureHTTPServerPipeline(withPipeliningAssistance: true, withErrorHandling: true)
                        try pipeline.addHandler(APIHTTPHandler(dispatcher: dispatcher, maxBodyBytes: maxBodyBytes, logger: logger))
                    }
                }
            do {
                // NIO takes ownership of the descriptor (and listens on it) from here on.
                let channel = try bootstrap.withBoundSocket(descriptor).wait()
                running = Running(group: group, channel: channel, socketIdentity: identity)
            } catch {
                try? group.syncShutdownGracefully()
                UnixSocketFile.remove(socketPath, ifStill: identity)
                throw APIServerError("Cannot listen on the API socket \(socketPath): \(error).")
            }
        }
        logger.info("API server listening on \(socketPath)")
    }

    /// Stops accepting and removes the socket file (only if it is still the one `start()`
    /// created). Open connections are closed once the backend call in progress, if any,
    /// has answered. Safe to call more than once. Must not be called on an event loop thread;
    /// calling it from a backend method is fine.
    public func stop() {
        guard let stopping = running.withLock({ running in
            defer { running = nil }
            return running
        }) else { return }
        // Unlink first: from this moment a new VMM may take the path, and clients get a clear
        // "no such file" instead of hanging on a closing listener.
        UnixSocketFile.remove(socketPath, ifStill: stopping.socketIdentity)
        try? stopping.channel.close().wait()
        // The event loop must outlive backend calls still in flight (they complete promises on
        // it), so it shuts down behind them on the backend queue. Not waited for: stop() may be
        // running on that very queue, inside a backend call.
        let group = stopping.group
        dispatcher.afterPendingCalls { try? group.syncShutdownGracefully() }
        logger.info("API server on \(socketPath) stopped")
    }

    public var isRunning: Bool { running.withLock { $0 != nil } }
}
