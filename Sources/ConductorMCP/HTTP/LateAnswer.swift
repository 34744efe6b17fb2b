import HTTPTypes
import NIOCore
import NIOHTTPTypes

/// An answer written in one piece whenever its body is ready, from any thread (`ChannelResponseWriter.answerLater`):
/// a call that waits for its task holds this and its connection, not a Swift task (Tests/e2e/measure_mcp_waits.py).
/// Its length is known by then, so it is sent with Content-Length rather than chunked.
struct LateAnswer: Sendable {
    let channel: any Channel
    let head: HTTPResponse
    let closesAfterEnd: Bool

    func finish(_ body: ByteBuffer) {
        var sent = head
        sent.headerFields[.contentLength] = "\(body.readableBytes)"
        // The head was made when the request was routed; the answer originates now.
        if sent.headerFields[.date] != nil { sent.headerFields[.date] = HTTPDate.now() }
        let head = sent
        let channel = channel
        let closesAfterEnd = closesAfterEnd
        channel.eventLoop.execute {
            channel.write(HTTPResponsePart.head(head), promise: nil)
            channel.write(HTTPResponsePart.body(body), promise: nil)
            channel.writeAndFlush(HTTPResponsePart.end(nil)).whenComplete { result in
                // A failed write leaves the connection unable to carry another answer.
                if closesAfterEnd || (try? result.get()) == nil {
                    channel.close(promise: nil)
                }
            }
        }
    }

    /// No answer: the client left before it was ready (`RequestDispatchHandler` closes such a connection once its
    /// answer's end is written, and none will be).
    func abandon() {
        channel.close(promise: nil)
    }
}
