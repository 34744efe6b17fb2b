import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1

/// HTTP/1.1 for the MCP front end, with a Swift task for each request instead of one for each connection.
///
/// Most of the front end's connections sit waiting: a tool call parked until its task ends, an SSE stream
/// between events. Hummingbird's `HTTP1Channel` gives every connection a task that reads its requests through
/// an `NIOAsyncChannel`, about 11 KiB before it has read a byte, and the task keeps the deepest stack it ever
/// reached. Here NIO's handlers read and frame the requests (`RequestDispatchHandler`), one at a time per
/// connection (NIO's pipelining assistance holds the next request until the answer's end is written), and
/// each request is routed in a task of its own and answered from another that ends with the answer
/// (`RequestResponder`).
///
/// A connection has no task of its own: between requests it costs only its channel and handlers (about 4.4 KiB,
/// Tests/e2e/measure_mcp_waits.py --idle). Hummingbird's server therefore cannot wait for the connections when
/// it shuts down; `connections` counts them for the front end, which waits for them instead.
struct PerRequestHTTP1Channel: ServerChildChannel {
    struct Value: ServerChildChannelValue {
        let channel: any Channel
    }

    let responder: RequestResponder
    let connections: OpenConnections
    /// Requests in progress at once across the connections.
    let admission: RequestAdmission
    /// A request body is kept up to one byte over this, so that the endpoint can refuse it as too large.
    let bodyLimit: Int

    /// Requests are a few hundred bytes: reads start at 512 bytes (NIO's default is 2 KiB), and the buffer
    /// grows, up to 64 KiB, for a connection whose reads fill it, and shrinks back after.
    static let readBuffer = AdaptiveRecvByteBufferAllocator(minimum: 64, initial: 512, maximum: 65536)

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        channel.setOption(ChannelOptions.recvAllocator, value: Self.readBuffer).flatMapThrowing {
            let pipeline = channel.pipeline.syncOperations
            // NIO's encoder, decoder and pipelining; the rest (HTTPTypes, HTTP/1.0, a 400 for a request that does not
            // parse) is RequestDispatchHandler's, so that a connection carries four handlers.
            try pipeline.configureHTTPServerPipeline(withPipeliningAssistance: true, withErrorHandling: false)
            try pipeline.addHandler(RequestDispatchHandler(bodyLimit: bodyLimit, responder: responder, admission: admission))
            connections.opened(channel)
            return Value(channel: channel)
        }
    }

    /// Nothing to do: the handlers serve the connection.
    func handle(value: Value, logger: Logger) async {}
}
