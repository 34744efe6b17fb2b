import Hummingbird
import NIOCore
import Synchronization

/// Counts the TCP connections the server accepted, and those still open, so that a client's claim to put
/// every request on one HTTP/2 connection can be checked from the server's side (`/metrics`).
final class ConnectionCounter: Sendable {
    private struct State {
        var open: Set<ObjectIdentifier> = []
        var accepted = 0
    }

    private let state = Mutex(State())

    /// Records the connection a request arrived on (the first time it is seen).
    func observe(_ connection: any Channel) {
        let id = ObjectIdentifier(connection)
        let isNew = state.withLock { state in
            guard state.open.insert(id).inserted else { return false }
            state.accepted += 1
            return true
        }
        if isNew {
            connection.closeFuture.whenComplete { [self] _ in
                _ = state.withLock { $0.open.remove(id) }
            }
        }
    }

    var figures: (accepted: Int, open: Int) {
        state.withLock { ($0.accepted, $0.open.count) }
    }

    /// Prometheus text exposition of the figures.
    var metricsText: String {
        let (accepted, open) = figures
        return """
            # HELP apiserver_connections_accepted_total TCP connections that carried at least one request.
            # TYPE apiserver_connections_accepted_total counter
            apiserver_connections_accepted_total \(accepted)
            # HELP apiserver_connections_open TCP connections open now.
            # TYPE apiserver_connections_open gauge
            apiserver_connections_open \(open)

            """
    }
}

/// The request context: Hummingbird's basic one, plus the connection (not the HTTP/2 stream) the request
/// came on.
struct ConnectionRequestContext: Hummingbird.RequestContext {
    var coreContext: CoreRequestContextStorage
    let connection: any Channel

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        // An HTTP/2 request arrives on a stream channel whose parent is the TCP connection.
        connection = source.channel.parent ?? source.channel
    }
}
