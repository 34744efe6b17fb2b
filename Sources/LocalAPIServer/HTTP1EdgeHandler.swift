import HTTPTypes
import KubeJSON
import NIOCore
import NIOHTTP1
import NIOHTTPTypes

/// Answers, on an HTTP/1.1 connection, the two requests that NIO's codec cannot carry to the API and
/// back, with a Kubernetes Status as kube-apiserver answers every failed request:
///
/// - A request line the parser refuses. llhttp knows a fixed list of methods, so `FOO` or a
///   lowercase `get` never reaches the API (Go's server takes any token as a method, and the API
///   then refuses it with 405). Hummingbird would answer 400 with no body.
/// - A CONNECT request. NIO's response encoder frames every answer to CONNECT as bodiless (right
///   for a 2xx, which turns the connection into a tunnel, but it does so for a 405 too), so the
///   client gets a Status line with no length and waits for a body that never comes. The API's
///   answer is collected here and written below the encoder, whole, and the connection closed.
///
/// On HTTP/2 streams (which share Hummingbird's handler list) it passes everything through.
final class HTTP1EdgeHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    /// Between a request's head and its response's end: a parse error then belongs to that
    /// exchange, and is left to Hummingbird.
    private var exchangeOpen = false
    /// The answer to a CONNECT request being collected (only on HTTP/1.1).
    private var connectAnswer: (head: HTTPResponse?, body: ByteBuffer)?
    /// A refused request line has been answered; the connection is closing.
    private var answeredParseError = false

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .head(let head) = unwrapInboundIn(data) {
            exchangeOpen = true
            if head.method == .connect, Self.encoderContext(context) != nil {
                connectAnswer = (nil, context.channel.allocator.buffer(capacity: 0))
            }
        }
        context.fireChannelRead(data)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard let parseError = error as? HTTPParserError, !exchangeOpen else {
            context.fireErrorCaught(error)
            return
        }
        // The decoder may report more of the same bytes; one answer is enough.
        guard !answeredParseError else { return }
        answeredParseError = true
        let status: APIError
        if case .invalidMethod = parseError {
            status = .methodNotAllowed("the server does not allow this method on the requested resource")
        } else {
            status = .badRequest("the request could not be read as HTTP/1.1: \(parseError)")
        }
        let body = context.channel.allocator.buffer(bytes: status.status.serialized())
        var head = HTTPResponse(status: .init(code: status.code))
        head.headerFields[.contentType] = "application/json"
        head.headerFields[.cacheControl] = "no-cache, private"
        head.headerFields[.contentLength] = String(body.readableBytes)
        head.headerFields[.connection] = "close"
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.write(wrapOutboundOut(.body(body)), promise: nil)
        let bound = context.loopBound
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in bound.value.close(promise: nil) }
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        guard var answer = connectAnswer else {
            if case .end = unwrapOutboundIn(data) { exchangeOpen = false }
            context.write(data, promise: promise)
            return
        }
        switch unwrapOutboundIn(data) {
        case .head(let head):
            answer.head = head
            connectAnswer = answer
        case .body(var chunk):
            answer.body.writeBuffer(&chunk)
            connectAnswer = answer
        case .end:
            connectAnswer = nil
            if let encoder = Self.encoderContext(context), let head = answer.head {
                let bytes = Self.serialize(head, body: answer.body, allocator: context.channel.allocator)
                let bound = context.loopBound
                encoder.writeAndFlush(NIOAny(bytes)).whenComplete { _ in bound.value.close(promise: nil) }
            } else {
                context.close(promise: nil)
            }
        }
        promise?.succeed(())
    }

    /// The HTTP/1.1 response encoder's context: writing there sends bytes past the encoder. None
    /// on an HTTP/2 stream.
    private static func encoderContext(_ context: ChannelHandlerContext) -> ChannelHandlerContext? {
        try? context.pipeline.syncOperations.context(handlerType: HTTPResponseEncoder.self)
    }

    /// A whole HTTP/1.1 response with its length, on a connection that then closes.
    private static func serialize(_ head: HTTPResponse, body: ByteBuffer, allocator: ByteBufferAllocator) -> ByteBuffer {
        let phrase = head.status.reasonPhrase.isEmpty
            ? HTTPResponseStatus(statusCode: head.status.code).reasonPhrase : head.status.reasonPhrase
        var text = "HTTP/1.1 \(head.status.code) \(phrase)\r\n"
        for field in head.headerFields
        where ![.contentLength, .transferEncoding, .connection].contains(field.name) {
            text += "\(field.name.rawName): \(field.value)\r\n"
        }
        text += "Content-Length: \(body.readableBytes)\r\nConnection: close\r\n\r\n"
        var bytes = allocator.buffer(string: text)
        bytes.writeImmutableBuffer(body)
        return bytes
    }
}
