import HTTPTypes
import Hummingbird
import NIOCore
import NIOHTTP1
import NIOHTTPTypes
import NIOHTTPTypesHTTP1

/// Gathers each request of a connection (its head, its body up to `bodyLimit` and one byte more, its end; with an
/// interim 100 first when the client waits for one) and answers it in a task of its own once `admission` lets it
/// in (at most so many requests in progress at once across connections), so that a connection
/// between requests costs only its channel; tells the request being answered when its client leaves; and closes
/// the connection once its client has closed its side and nothing is left to answer.
///
/// It takes NIO's HTTP/1 parts and gives the responder HTTPTypes, answers HTTP/1.0 as HTTP/1.0 allows
/// (`HTTP10Answers`), and answers a request that does not parse with 400: the work of three more handlers, which a
/// connection would carry (about 0.3 KiB each) for as long as it is open, and most of the front end's connections
/// are calls that wait.
///
/// Runs on the connection's event loop. NIO's `HTTPServerPipelineHandler`, before it, passes on a request only
/// once the answer to the one before has ended, so at most one request of a connection is in hand here.
final class RequestDispatchHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    private let bodyLimit: Int
    private let responder: RequestResponder
    private let admission: RequestAdmission
    private var head: HTTPRequest?
    private var body: ByteBuffer?
    /// A request was handed over and its answer's end is not written yet.
    private var answering = false
    /// Fired if the client leaves while the request in hand is answered: a call that waits for its task stops
    /// waiting (it has nobody to answer), and the task goes on.
    private var clientLeft: Signal?
    /// The client closed its side of the connection.
    private var inputClosed = false
    /// An answer's head is written and its end is not.
    private var answerUnterminated = false
    private var http10 = HTTP10Answers()

    init(bodyLimit: Int, responder: RequestResponder, admission: RequestAdmission) {
        self.bodyLimit = bodyLimit
        self.responder = responder
        self.admission = admission
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(var received):
            http10.received(&received)
            let head: HTTPRequest
            do {
                head = try HTTPRequest(received, secure: false, splitCookie: false)
            } catch {
                // A head HTTP cannot carry (a method token it has no name for, say): the connection ends, its body unread.
                self.head = nil
                errorCaught(context: context, error: error)
                return
            }
            self.head = head
            body = nil
            switch Self.expectation(of: head, bodyLimit: bodyLimit) {
            case .none:
                break
            case .continue:
                context.writeAndFlush(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .continue))), promise: nil)
            case .answerWithoutBody:
                // Answered (refused as too large) from its head; a body the client sends anyway is not read, and
                // the connection ends after the answer, since where that body ends cannot be known.
                self.head = nil
                dispatch(Request(head: head, body: RequestBody(buffer: ByteBuffer())), closingAfter: true, context: context)
            }
        case .body(var part):
            guard head != nil else { return }
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
            self.head = nil
            body = nil
            dispatch(request, closingAfter: head.headerFields[.connection]?.lowercased() == "close", context: context)
        }
    }

    private func dispatch(_ request: Request, closingAfter closesAfter: Bool, context: ChannelHandlerContext) {
        answering = true
        let clientLeft = Signal()
        self.clientLeft = clientLeft
        let channel = context.channel
        let responder = self.responder
        admission.admit { slot in
            Task {
                // A client that left while its request waited its turn has nobody to answer. Given back from the
                // task, not from here: thousands of such requests in a row would otherwise hand the slot on in
                // one ever deeper call.
                guard channel.isActive else {
                    slot.giveBack()
                    return
                }
                await responder.answer(request, closingAfter: closesAfter, clientLeft: clientLeft, slot: slot, on: channel)
            }
        }
    }

    /// What a client that sent `Expect: 100-continue` waits for before it sends its body (curl does for bodies
    /// over 1 MiB, and waits a second before it sends anyway).
    enum Expectation: Equatable {
        /// Nothing: no expectation (or one other than 100-continue, which is ignored as most servers do, not
        /// refused with 417). An HTTP/1.0 request's is gone already (`HTTP10Answers.received`).
        case none
        /// An interim 100 (Continue), then its body.
        case `continue`
        /// The final answer at once: its declared length is over the limit, and the endpoint refuses it from
        /// the header (RFC 9110 lets a server answer instead of asking for the body).
        case answerWithoutBody
    }

    static func expectation(of head: HTTPRequest, bodyLimit: Int) -> Expectation {
        guard head.headerFields[.expect]?.lowercased() == "100-continue" else { return .none }
        guard let declared = head.headerFields[.contentLength].flatMap(Int.init), declared > bodyLimit else { return .continue }
        return .answerWithoutBody
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
        switch unwrapOutboundIn(data) {
        case .head(let answer):
            var head = HTTPResponseHead(answer)
            if answer.status.kind != .informational { answerUnterminated = true }
            http10.answer(&head)
            context.write(wrapOutboundOut(.head(head)), promise: promise)
        case .body(let part):
            context.write(wrapOutboundOut(.body(.byteBuffer(part))), promise: promise)
        case .end(let trailers):
            // Before the write: writing the end lets NIO's pipelining hand over the next request, which starts answering.
            answering = false
            answerUnterminated = false
            clientLeft = nil
            let end = wrapOutboundOut(.end(trailers.map(HTTPHeaders.init)))
            // An HTTP/1.0 answer ends its connection; so does any once the client closed its side (NIO's pipelining
            // holds that end of input behind the requests sent before it: none is left now).
            guard http10.answerEnded() || inputClosed else {
                context.write(end, promise: promise)
                return
            }
            let written = promise ?? context.eventLoop.makePromise()
            context.write(end, promise: written)
            let channel = context.channel
            written.futureResult.whenComplete { _ in channel.close(promise: nil) }
        }
    }

    /// A request that did not parse is answered 400, unless an answer is under way (NIO's pipelining holds the
    /// parser's error until the answer before it has ended, so one seldom is). No later request on the connection
    /// can be framed, so it ends, as it does on any other error.
    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if error is HTTPParserError, !answerUnterminated {
            let head = HTTPResponseHead(version: .http1_1, status: .badRequest, headers: ["connection": "close", "content-length": "0"])
            context.write(wrapOutboundOut(.head(head)), promise: nil)
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        }
        context.close(promise: nil)
    }
}
