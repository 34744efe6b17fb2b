/// What a request is handled with, besides its message: the session it belongs to, the authenticated
/// caller, and where its notifications go (nil: the answer is plain JSON, so none can be sent).
struct RequestContext: Sendable {
    var session: SessionClaims
    var caller: Caller
    var sink: NotificationSink?
}
