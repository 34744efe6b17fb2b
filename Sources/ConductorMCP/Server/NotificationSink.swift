import KubeJSON

/// Where a request's notifications go: its own SSE stream (streamable HTTP) or stdout (stdio). Sending
/// after the request answered is a mistake the sink may ignore. Sending does not wait: a sink queues the message
/// in order (a waiting call relays progress from callbacks, with no task of its own).
struct NotificationSink: Sendable {
    let send: @Sendable (JSON) -> Void

    init(_ send: @escaping @Sendable (JSON) -> Void) {
        self.send = send
    }
}
