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

/// Counts requests in flight against a maximum, and those refused for it.
final class InFlightLimit: Sendable {
    private let maximum: Int
    private let current = Atomic<Int>(0)
    private let refusedCounter = Atomic<Int>(0)

    init(maximum: Int) { self.maximum = maximum }

    /// Takes a place, or returns false (and counts a refusal) when all are taken.
    func enter() -> Bool {
        guard maximum > 0 else { return true }
        if current.add(1, ordering: .acquiring).newValue > maximum {
            current.subtract(1, ordering: .releasing)
            refusedCounter.add(1, ordering: .relaxed)
            return false
        }
        return true
    }

    func leave() {
        guard maximum > 0 else { return }
        current.subtract(1, ordering: .releasing)
    }

    var refused: Int { refusedCounter.load(ordering: .relaxed) }

    var metricsText: String {
        """
        # HELP apiserver_dropped_requests_total Requests answered 429 because too many were in flight.
        # TYPE apiserver_dropped_requests_total counter
        apiserver_dropped_requests_total \(refused)

        """
    }
}
