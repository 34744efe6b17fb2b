import HummingbirdCore
import Logging
import NIOCore

/// Hummingbird's HTTP/1.1 connection, reading into a buffer that starts at 512 bytes instead of NIO's 2 KiB.
///
/// A connection keeps its read buffer for as long as it is open, and most of the front end's connections sit
/// waiting: a tool call parked until its task ends, an SSE stream between events. Their requests are a few hundred
/// bytes; the buffer still grows (up to 64 KiB) for a connection whose reads fill it, and shrinks back after.
struct SmallReadBufferHTTP1Channel: ServerChildChannel {
    typealias Value = HTTP1Channel.Value

    let http1: HTTP1Channel

    static let readBuffer = AdaptiveRecvByteBufferAllocator(minimum: 64, initial: 512, maximum: 65536)

    /// For `Application(server:)`.
    static let builder = HTTPServerBuilder { responder in SmallReadBufferHTTP1Channel(http1: HTTP1Channel(responder: responder)) }

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        channel.setOption(ChannelOptions.recvAllocator, value: Self.readBuffer).flatMap {
            http1.setup(channel: channel, logger: logger)
        }
    }

    func handle(value: Value, logger: Logger) async {
        await http1.handle(value: value, logger: logger)
    }
}
