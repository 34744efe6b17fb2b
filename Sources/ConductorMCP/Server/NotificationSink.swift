import KubeJSON

/// Where a request's notifications go: its own SSE stream (streamable HTTP) or stdout (stdio). Sending
/// after the request answered is a mistake the sink may ignore.
struct NotificationSink: Sendable {
    let send: @Sendable (JSON) async -> Void

    init(_ send: @escaping @Sendable (JSON) async -> Void) {
        self.send = send
    }
}
