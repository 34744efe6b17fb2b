import HTTPTypes
import Hummingbird
import NIOCore
import NIOHTTPTypes

/// Writes one answer onto its connection from the answering task. The head goes out with the first part of
/// the body. A body of known length is flushed once, with its end; a streamed one (SSE) at every write, and
/// each write waits until it is handed to the socket, so a slow reader holds back its stream's writer. The
/// connection is closed after the answer's end when the request asked for that.
///
/// A streamed answer's first write gives back the request's admission slot: a GET stream or a subscription is
/// written by its task for as long as its client listens, and is no longer a request in progress.
struct ChannelResponseWriter: ResponseBodyWriter {
    private let channel: any Channel
    private var head: HTTPResponse?
    private let flushesEachWrite: Bool
    private let closesAfterEnd: Bool
    private let slot: RequestAdmission.Slot

    static func write(_ response: Response, to channel: any Channel, closingAfter closes: Bool,
                      streaming slot: RequestAdmission.Slot) async throws {
        let writer = ChannelResponseWriter(channel: channel, head: response.head, flushesEachWrite: response.body.contentLength == nil,
                                           closesAfterEnd: closes, slot: slot)
        try await response.body.write(writer)
    }

    private init(channel: any Channel, head: HTTPResponse, flushesEachWrite: Bool, closesAfterEnd: Bool, slot: RequestAdmission.Slot) {
        self.channel = channel
        self.head = head
        self.flushesEachWrite = flushesEachWrite
        self.closesAfterEnd = closesAfterEnd
        self.slot = slot
    }

    mutating func write(_ buffer: ByteBuffer) async throws {
        writeHeadIfPending()
        if flushesEachWrite {
            slot.giveBack()
            try await channel.writeAndFlush(HTTPResponsePart.body(buffer))
        } else {
            channel.write(HTTPResponsePart.body(buffer), promise: nil)
        }
    }

    consuming func finish(_ trailingHeaders: HTTPFields?) async throws {
        writeHeadIfPending()
        try await channel.writeAndFlush(HTTPResponsePart.end(trailingHeaders))
        if closesAfterEnd {
            channel.close(promise: nil)
        }
    }

    /// Hands the whole answer to a `LateAnswer`, which writes it when it is ready, with no task waiting for it;
    /// the body then returns without writing or finishing. Nil when part of the answer is written already.
    func answerLater() -> LateAnswer? {
        guard let head else { return nil }
        return LateAnswer(channel: channel, head: head, closesAfterEnd: closesAfterEnd)
    }

    /// Hands a streamed answer to a `LateStream`, written from callbacks and ended by them, with no task waiting
    /// for it; the body then returns without finishing. `failed`: a write failed, the reader left. Nil when part
    /// of the answer is written already.
    func streamLater(failed: @escaping @Sendable () -> Void) -> LateStream? {
        guard let head else { return nil }
        return LateStream(channel: channel, head: head, closesAfterEnd: closesAfterEnd, failed: failed)
    }

    private mutating func writeHeadIfPending() {
        guard let head else { return }
        channel.write(HTTPResponsePart.head(head), promise: nil)
        self.head = nil
    }
}
