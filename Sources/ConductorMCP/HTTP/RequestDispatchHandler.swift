import HTTPTypes
import Hummingbird
import NIOCore
import NIOHTTPTypes

/// Gathers each request of a connection (its head, its body up to `bodyLimit` and one byte more, its end) and
/// answers it in a task of its own, so that a connection between requests costs only its channel; tells the request
/// being answered when its client leaves; and closes the connection once its client has closed its side and
/// nothing is left to answer.
///
/// Runs on the connection's event loop. NIO's `HTTPServerPipelineHandler`, before it, passes on a request only
/// once the answer to the one before has ended, so at most one request of a connection is in hand here.
final class RequestDispatchHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private let bodyLimit: Int
    private let responder: RequestResponder
    private var head: HTTPRequest?
    private var body: ByteBuffer?
    /// A request was handed over and its answer's end is not written yet.
    private var answering = false
    /// Fired if the client leaves while the request in hand is answered: a call that waits for its task stops
    /// waiting (it has nobody to answer), and the task goes on.
    private var clientLeft: Signal?
    /// The client closed its side of the connection.
    private var inputClosed = false

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
            answering = true
            let clientLeft = Signal()
            self.clientLeft = clientLeft
            let channel = context.channel
            let responder = self.responder
            Task { await responder.answer(request, closingAfter: closesAfter, clientLeft: clientLeft, on: channel) }
        }
    }

    /// Hummingbird's server allows half-closure, so a client's end of input does not close the connection: closed
    /// here, at once when nothing is being answered, else after the answer's end. Otherwise a connection its client
    /// left stays open for good, its file descriptor and its memory with it.
    ///
    /// The end of input also counts as the client leaving the request in hand, as nginx takes it (its 499): a
    /// call waiting for its task stops waiting, rather than hold its place among the caller's waiting calls
    /// until its limit for a client that is gone. An answer that is ready (everything but such a wait) still goes
    /// out, so a client that half-closes after its request gets it.
    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? ChannelEvent, event == .inputClosed {
            inputClosed = true
            if answering {
                clientLeft?.fire()
            } else {
                context.close(promise: nil)
            }
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    /// A connection that ends (reset, or closed here) while a request is answered has nobody left to answer.
    func channelInactive(context: ChannelHandlerContext) {
        clientLeft?.fire()
        clientLeft = nil
        context.fireChannelInactive()
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        guard case .end = unwrapOutboundIn(data) else {
            context.write(data, promise: promise)
            return
        }
        // Before the write: writing the end lets NIO's pipelining hand over the next request, which starts answering.
        answering = false
        clientLeft = nil
        guard inputClosed else {
            context.write(data, promise: promise)
            return
        }
        let written = promise ?? context.eventLoop.makePromise()
        context.write(data, promise: written)
        let channel = context.channel
        // NIO's pipelining holds the client's end of input behind the requests it sent before: none is left now.
        written.futureResult.whenComplete { _ in channel.close(promise: nil) }
    }

    /// A request that did not parse has had its 400 from NIO's error handler, before this one: no later request
    /// on the connection can be framed, so it ends, as it does on any other error.
    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
