/// How many API connections may be open at once and how long each may take, so that clients
/// that connect and stall (a flood, slow-loris partial requests, forgotten keep-alive
/// connections) cannot hold the VMM's descriptors and memory without end.
public struct APIConnectionLimits: Sendable, Equatable {
    /// Connections beyond this are answered 503 at once and closed (`APIServerBusyResponder`).
    public var maxConnections: Int
    /// From the connection's start, or from the first byte of a later request, until the
    /// request has arrived whole (head and body): a slower client is disconnected.
    public var requestReadTimeout: Duration
    /// How long a keep-alive connection may sit without a byte after an answer.
    public var idleTimeout: Duration

    /// Firecracker's clients send each request in one go over a local socket, and open one
    /// connection or a few; the timeouts leave room for a loaded host or a request pasted into `socat`.
    public init(maxConnections: Int = 16, requestReadTimeout: Duration = .seconds(10), idleTimeout: Duration = .seconds(60)) {
        self.maxConnections = maxConnections
        self.requestReadTimeout = requestReadTimeout
        self.idleTimeout = idleTimeout
    }
}
