import KubeJSON

/// The text of server-sent events (the WHATWG format). Event ids are `<stream>-<n>`, so that an id names
/// the stream it belongs to, as 2025-11-25 asks for resumption.
enum ServerSentEvent {
    /// The priming event: an id and empty data, sent first so that a client has an id to resume from.
    static func priming(stream: String) -> String {
        "id: \(stream)-0\ndata: \n\n"
    }

    /// One JSON-RPC message. Compact JSON has no raw newlines (they are escaped in strings), so one data line.
    static func message(_ message: JSON, stream: String, sequence: Int) -> String {
        "event: message\nid: \(stream)-\(sequence)\ndata: \(message.text)\n\n"
    }

    /// A comment: ignored by clients, keeps proxies from closing an idle stream and finds dead connections.
    static let keepAlive = ": keep-alive\n\n"
}
