import HTTPTypes
import Hummingbird
import KubeJSON

/// The text of server-sent events (the WHATWG format). Event ids are `<stream>-<n>`, so that an id names
/// the stream it belongs to, as 2025-11-25 asks for resumption.
enum ServerSentEvent {
    /// The priming event: an id and empty data, sent first so that a client has an id to resume from.
    static func priming(stream: String, sequence: Int = 0) -> String {
        "id: \(stream)-\(sequence)\ndata: \n\n"
    }

    /// One JSON-RPC message. Compact JSON has no raw newlines (they are escaped in strings), so one data line.
    static func message(_ message: JSON, stream: String, sequence: Int) -> String {
        "event: message\nid: \(stream)-\(sequence)\ndata: \(message.text)\n\n"
    }

    /// A comment: ignored by clients, keeps proxies from closing an idle stream and finds dead connections.
    static let keepAlive = ": keep-alive\n\n"

    /// The headers of every event-stream answer.
    static let headers: HTTPFields = [.contentType: "text/event-stream", .cacheControl: "no-cache, no-transform"]

    /// Yields a keep-alive (nil) into `feed` every `interval`, until the calling task is cancelled.
    static func keepAlives(every interval: Duration, into feed: AsyncStream<JSON?>.Continuation) async {
        while true {
            do { try await Task.sleep(for: interval) } catch { return }
            feed.yield(nil)
        }
    }

    /// Writes `events` until they end: each as a message of `stream` numbered on from `sequence`, nil as a
    /// keep-alive comment.
    static func write(_ events: AsyncStream<JSON?>, stream: String, after sequence: Int,
                      to writer: inout any ResponseBodyWriter) async throws {
        var sequence = sequence
        for await event in events {
            guard let event else {
                try await writer.write(ByteBuffer(string: keepAlive))
                continue
            }
            sequence += 1
            try await writer.write(ByteBuffer(string: message(event, stream: stream, sequence: sequence)))
        }
    }
}
