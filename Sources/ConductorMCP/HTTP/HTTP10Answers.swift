import NIOCore
import NIOHTTP1

/// Answers an HTTP/1.0 request as HTTP/1.0 allows: no chunked body, and the connection closed after the answer.
///
/// `HTTP1ToHTTPServerCodec`, after this handler, drops the request's version and writes every answer as HTTP/1.1,
/// so an answer without a length (an SSE stream) went out chunked, which an HTTP/1.0 client cannot read, and the
/// connection stayed open after it, where an HTTP/1.0 client without keep-alive (ApacheBench is one) reads until
/// the server closes it. Here the answer's head says HTTP/1.0 (NIO's encoder then frames it by its length, or by the
/// connection's end when it has none), `Connection: close`, and the connection ends once the answer's end is
/// written. HTTP/1.0 keep-alive is not offered, as the protocol lets a server choose.
///
/// An HTTP/1.0 request's `Expect: 100-continue` is dropped, as RFC 9110 (10.1.1) requires: an HTTP/1.0 client
/// cannot read an interim answer.
///
/// NIO's `HTTPServerPipelineHandler`, before it, passes on one request at a time: the answer being written is to
/// the last head read.
final class HTTP10Answers: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    /// The request in hand came as HTTP/1.0.
    private var answeringHTTP10 = false

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .head(var head) = unwrapInboundIn(data) else {
            context.fireChannelRead(data)
            return
        }
        answeringHTTP10 = head.version.major == 1 && head.version.minor == 0
        guard answeringHTTP10, head.headers.contains(name: "expect") else {
            context.fireChannelRead(data)
            return
        }
        head.headers.remove(name: "expect")
        context.fireChannelRead(wrapInboundOut(.head(head)))
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        guard answeringHTTP10 else {
            context.write(data, promise: promise)
            return
        }
        switch unwrapOutboundIn(data) {
        case .head(var head):
            head.version = .http1_0
            head.headers.replaceOrAdd(name: "connection", value: "close")
            context.write(wrapOutboundOut(.head(head)), promise: promise)
        case .body:
            context.write(data, promise: promise)
        case .end:
            answeringHTTP10 = false
            let written = promise ?? context.eventLoop.makePromise()
            context.write(data, promise: written)
            let channel = context.channel
            written.futureResult.whenComplete { _ in channel.close(promise: nil) }
        }
    }
}
