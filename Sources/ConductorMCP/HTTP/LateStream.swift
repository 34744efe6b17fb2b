import HTTPTypes
import NIOCore
import NIOHTTPTypes

/// An SSE answer written from callbacks on any thread (`ChannelResponseWriter.streamLater`): a call that waits for
/// its task while it relays progress holds this and its connection, not a Swift task
/// (Tests/e2e/measure_mcp_waits.py --stream). The head goes out with the first write, and each write is flushed;
/// a failed write (the connection closed) calls `failed`: the reader left.
///
/// Writes made off the connection's event loop are queued on it in the order they are made (NIO's channel hops to
/// its loop with `execute`), so callers order them by writing under their own lock (`EventStream`).
struct LateStream: EventStreamOutput {
    private let channel: any Channel
    private let closesAfterEnd: Bool
    private let failed: @Sendable () -> Void

    init(channel: any Channel, head: HTTPResponse, closesAfterEnd: Bool, failed: @escaping @Sendable () -> Void) {
        self.channel = channel
        self.closesAfterEnd = closesAfterEnd
        self.failed = failed
        // Flushed with the first event, which follows at once.
        channel.write(HTTPResponsePart.head(head), promise: nil)
    }

    func write(_ text: String, droppable: Bool) {
        if droppable, !channel.isWritable { return }
        channel.writeAndFlush(HTTPResponsePart.body(ByteBuffer(string: text))).whenFailure { [failed] _ in failed() }
    }

    func end() {
        let channel = channel
        let closesAfterEnd = closesAfterEnd
        let failed = failed
        channel.writeAndFlush(HTTPResponsePart.end(nil)).whenComplete { result in
            let wrote = (try? result.get()) != nil
            if !wrote { failed() }
            // A failed write leaves the connection unable to carry another answer.
            if closesAfterEnd || !wrote { channel.close(promise: nil) }
        }
    }
}
