import KubeJSON

/// Where a request's notifications go: its own SSE stream (streamable HTTP) or stdout (stdio). Sending
/// after the request answered is a mistake the sink may ignore. Sending does not wait: a sink queues the message
/// in order (a waiting call relays progress from callbacks, with no task of its own).
struct NotificationSink: Sendable {
    let send: @Sendable (JSON) -> Void
    /// Told that notifications will follow at least every so often until the request ends (a waiting call's
    /// progress heartbeat): a sink that keeps its stream alive by itself may stop doing so.
    let sendsRegularly: @Sendable (_ every: Duration) -> Void

    init(_ send: @escaping @Sendable (JSON) -> Void, sendsRegularly: @escaping @Sendable (Duration) -> Void = { _ in }) {
        self.send = send
        self.sendsRegularly = sendsRegularly
    }
}
