import NIOCore

/// The whole pipeline of a connection over the cap: answers 503 with a Firecracker-style fault
/// as soon as the connection is active, without reading the request, and closes it. A client
/// learns why at once instead of hanging; it holds a descriptor only until the answer is out.
final class APIServerBusyResponder: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    private let limit: Int
    private var answered = false

    init(limit: Int) {
        self.limit = limit
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { answer(context: context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        answer(context: context)
        context.fireChannelActive()
    }

    /// Whatever the client sends is dropped: the answer does not depend on it.
    func channelRead(context: ChannelHandlerContext, data: NIOAny) {}

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    private func answer(context: ChannelHandlerContext) {
        guard !answered else { return }
        answered = true
        let fault = APIFault("Too many open API connections (at most \(limit)); close one and try again.", status: 503)
        let body = APIResponse.fault(fault).body?.serialized() ?? ""
        let head = "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
            + "Content-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n"
        let written = context.writeAndFlush(NIOAny(context.channel.allocator.buffer(string: head + body)))
        written.assumeIsolated().whenComplete { _ in context.close(promise: nil) }
    }
}
