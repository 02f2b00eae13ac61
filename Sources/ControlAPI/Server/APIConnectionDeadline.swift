import Logging
import NIOCore

/// Sits first in a connection's pipeline, on the raw bytes, and closes the connection when the
/// client is too slow: a request must arrive whole within `requestReadTimeout` of the
/// connection's start or of its own first byte, and a connection may idle between requests for
/// `idleTimeout`. No deadline runs while the backend works on a request: a pause or a snapshot
/// may take longer than either.
///
/// The HTTP handler further down reports where the request stands with outbound user events
/// (`Milestone`), since only it sees requests end and answers go out.
final class APIConnectionDeadline: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// Sent by `APIHTTPHandler` through `triggerUserOutboundEvent`.
    enum Milestone {
        /// A whole request (head, body and end) has been read.
        case requestReceived
        /// Its answer is being written; the connection waits for the next request.
        case answerSent
    }

    private enum Phase {
        /// Between requests, before any byte of the next one.
        case idle
        /// Some of a request has arrived (or the connection is new): the read timeout runs.
        case readingRequest
        /// The backend is working on a request: no deadline.
        case answering
    }

    private let limits: APIConnectionLimits
    private let logger: Logger
    private var phase = Phase.readingRequest
    /// Bytes arrived while answering: the start of a pipelined next request, so after the
    /// answer the read timeout applies rather than the idle one.
    private var receivedWhileAnswering = false
    private var deadline: Scheduled<Void>?

    init(limits: APIConnectionLimits, logger: Logger) {
        self.limits = limits
        self.logger = logger
    }

    func handlerAdded(context: ChannelHandlerContext) {
        // A new connection must send its first request in time, or it only holds a slot.
        arm(limits.requestReadTimeout, reason: "sent no whole request", context: context)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        disarm()
    }

    func channelInactive(context: ChannelHandlerContext) {
        disarm()
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch phase {
        case .idle:
            phase = .readingRequest
            arm(limits.requestReadTimeout, reason: "sent no whole request", context: context)
        case .readingRequest:
            break
        case .answering:
            receivedWhileAnswering = true
        }
        context.fireChannelRead(data)
    }

    func triggerUserOutboundEvent(context: ChannelHandlerContext, event: Any, promise: EventLoopPromise<Void>?) {
        guard let milestone = event as? Milestone else {
            context.triggerUserOutboundEvent(event, promise: promise)
            return
        }
        switch milestone {
        case .requestReceived:
            phase = .answering
            receivedWhileAnswering = false
            disarm()
        case .answerSent:
            if receivedWhileAnswering {
                phase = .readingRequest
                arm(limits.requestReadTimeout, reason: "sent no whole request", context: context)
            } else {
                phase = .idle
                arm(limits.idleTimeout, reason: "was idle", context: context)
            }
        }
        promise?.succeed()
    }

    private func arm(_ timeout: Duration, reason: String, context: ChannelHandlerContext) {
        disarm()
        let nanoseconds = timeout.components.seconds * 1_000_000_000 + timeout.components.attoseconds / 1_000_000_000
        let logger = self.logger
        let loopBoundContext = NIOLoopBound(context, eventLoop: context.eventLoop)
        deadline = context.eventLoop.scheduleTask(in: .nanoseconds(nanoseconds)) {
            logger.debug("API connection closed: it \(reason) within \(timeout)")
            loopBoundContext.value.close(promise: nil)
        }
    }

    private func disarm() {
        deadline?.cancel()
        deadline = nil
    }
}
