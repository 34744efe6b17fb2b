import HTTPTypes
import Hummingbird
import NIOCore
import NIOHTTPTypes

/// Gathers each request of a connection (its head, its body up to `bodyLimit` and one byte more, its end) and
/// answers it in a task of its own, so that a connection between requests costs only its channel.
///
/// Runs on the connection's event loop. NIO's `HTTPServerPipelineHandler`, before it, passes on a request only
/// once the answer to the one before has ended, so at most one request of a connection is in hand here.
final class RequestDispatchHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart

    private let bodyLimit: Int
    private let responder: RequestResponder
    private var head: HTTPRequest?
    private var body: ByteBuffer?

    init(bodyLimit: Int, responder: RequestResponder) {
        self.bodyLimit = bodyLimit
        self.responder = responder
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
            body = nil
        case .body(var part):
            // The byte over the limit is what tells the endpoint to refuse the body; the rest is not kept.
            let room = bodyLimit + 1 - (body?.readableBytes ?? 0)
            guard room > 0 else { return }
            if part.readableBytes > room {
                part = part.getSlice(at: part.readerIndex, length: room)!
            }
            if body == nil {
                body = part
            } else {
                body!.writeBuffer(&part)
            }
        case .end:
            guard let head else { return }
            let request = Request(head: head, body: RequestBody(buffer: body ?? ByteBuffer()))
            let closesAfter = head.headerFields[.connection]?.lowercased() == "close"
            self.head = nil
            body = nil
            let channel = context.channel
            let responder = self.responder
            Task { await responder.answer(request, closingAfter: closesAfter, on: channel) }
        }
    }

    /// A request that did not parse has had its 400 from NIO's error handler, before this one: no later request
    /// on the connection can be framed, so it ends, as it does on any other error.
    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
