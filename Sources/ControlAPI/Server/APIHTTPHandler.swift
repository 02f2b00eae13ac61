import Logging
import NIOCore
import NIOHTTP1

/// One connection's request handling: collects a request (bounded in size), routes it, hands
/// valid ones to the backend queue and writes the response back on the event loop.
///
/// NIO's pipelining handler sits in front, so a client that sends several requests at once
/// still gets them processed one at a time, in order.
final class APIHTTPHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private enum State {
        case idle
        case receiving(HTTPRequestHead, [UInt8])
        /// A response is pending from the backend.
        case awaitingResponse
        /// The request was refused before its body ended; the rest of it is dropped and the
        /// connection closes.
        case discarding
    }

    private let dispatcher: BackendDispatcher
    private let maxBodyBytes: Int
    private let logger: Logger
    private var state = State.idle
    /// False once the channel is gone: a late backend answer then has nowhere to go.
    private var isActive = true

    init(dispatcher: BackendDispatcher, maxBodyBytes: Int, logger: Logger) {
        self.dispatcher = dispatcher
        self.maxBodyBytes = maxBodyBytes
        self.logger = logger
    }

    func channelInactive(context: ChannelHandlerContext) {
        isActive = false
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        isActive = false
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        logger.debug("API connection error: \(error)")
        context.close(promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            guard case .idle = state else { return }
            if let declared = head.headers.first(name: "content-length").flatMap(Int.init), declared > maxBodyBytes {
                refuseOversizedBody(context: context, head: head)
                return
            }
            if head.headers[canonicalForm: "expect"].contains(where: { $0.lowercased() == "100-continue" }) {
                // curl waits up to a second for this before sending a larger body.
                let interim = HTTPResponseHead(version: head.version, status: .continue)
                context.writeAndFlush(wrapOutboundOut(.head(interim)), promise: nil)
            }
            state = .receiving(head, [])
        case .body(let buffer):
            guard case .receiving(let head, var body) = state else { return }
            guard body.count + buffer.readableBytes <= maxBodyBytes else {
                refuseOversizedBody(context: context, head: head)
                return
            }
            state = .idle  // drop the stored copy so the append below does not copy the array
            body.append(contentsOf: buffer.readableBytesView)
            state = .receiving(head, body)
        case .end:
            guard case .receiving(let head, let body) = state else { return }
            state = .awaitingResponse
            context.triggerUserOutboundEvent(APIConnectionDeadline.Milestone.requestReceived, promise: nil)
            handle(head: head, body: body, context: context)
        }
    }

    private func handle(head: HTTPRequestHead, body: [UInt8], context: ChannelHandlerContext) {
        let description = "\(head.method.rawValue) \(head.uri)"
        let request: APIRequest
        do {
            request = try APIRouter.route(method: head.method.rawValue, target: head.uri, body: body)
        } catch {
            logger.info("API \(description) refused: \(error.message)")
            respond(.fault(error), to: head, closing: !head.isKeepAlive, context: context)
            return
        }
        let promise = context.eventLoop.makePromise(of: APIResponse.self)
        dispatcher.perform(request, description: description, promise: promise)
        promise.futureResult.assumeIsolated().whenSuccess { response in
            self.respond(response, to: head, closing: !head.isKeepAlive, context: context)
        }
    }

    private func refuseOversizedBody(context: ChannelHandlerContext, head: HTTPRequestHead) {
        state = .discarding
        let fault = APIFault("The request body is larger than the \(maxBodyBytes)-byte limit.", status: 413)
        respond(.fault(fault), to: head, closing: true, context: context)
    }

    private func respond(_ response: APIResponse, to head: HTTPRequestHead, closing: Bool, context: ChannelHandlerContext) {
        guard isActive else { return }
        var headers = HTTPHeaders()
        var bodyBuffer: ByteBuffer?
        if let json = response.body {
            let buffer = context.channel.allocator.buffer(string: json.serialized())
            headers.add(name: "Content-Type", value: "application/json")
            headers.add(name: "Content-Length", value: String(buffer.readableBytes))
            bodyBuffer = buffer
        } else if response.status != 204 {
            headers.add(name: "Content-Length", value: "0")
        }
        if closing { headers.add(name: "Connection", value: "close") }
        let responseHead = HTTPResponseHead(
            version: head.version, status: HTTPResponseStatus(statusCode: Int(response.status)), headers: headers)

        // Back to idle before `.end` goes out: the pipelining handler may deliver the next
        // request from inside that write.
        if case .awaitingResponse = state { state = .idle }
        context.triggerUserOutboundEvent(APIConnectionDeadline.Milestone.answerSent, promise: nil)
        context.write(wrapOutboundOut(.head(responseHead)), promise: nil)
        if let bodyBuffer { context.write(wrapOutboundOut(.body(.byteBuffer(bodyBuffer))), promise: nil) }
        let written = context.writeAndFlush(wrapOutboundOut(.end(nil)))
        if closing {
            written.assumeIsolated().whenComplete { _ in context.close(promise: nil) }
        }
    }
}
