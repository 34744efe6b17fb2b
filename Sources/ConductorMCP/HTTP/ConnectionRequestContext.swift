import Hummingbird

/// Hummingbird's request context (not the MCP `RequestContext`), with what the request's connection tells about
/// its client.
struct ConnectionRequestContext: Hummingbird.RequestContext {
    var coreContext: CoreRequestContextStorage
    /// Fires when the client closes its side of the connection, or the connection ends, while this request is being
    /// answered (`RequestDispatchHandler`). Nil where no connection tells (a request made in a test).
    var clientLeft: Signal? = nil

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
    }
}
