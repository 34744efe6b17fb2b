/// What a request is handled with, besides its message: the session it belongs to, the authenticated
/// caller, and where its notifications go (nil: the answer is plain JSON, so none can be sent).
struct RequestContext: Sendable {
    var session: SessionClaims
    var caller: Caller
    var sink: NotificationSink?
    /// Fires when the client stops reading the request's answer (it closed the connection, or its SSE stream
    /// broke): a wait for a task then ends, and the task goes on. Nil where the transport does not tell.
    var readerLeft: Signal? = nil
}
