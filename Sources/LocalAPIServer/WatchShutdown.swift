import ServiceLifecycle

/// Ends every open watch once graceful shutdown begins.
///
/// Hummingbird's graceful shutdown stops accepting connections and then waits for every response
/// in flight to end, and a watch never ends by itself: with a client watching, SIGTERM would wait
/// forever. Run this service after the HTTP server in the same ServiceGroup, which shuts services
/// down in reverse order: the watches end first (as kube-apiserver closes them when it stops), the
/// clients see their streams finish and watch again elsewhere, and the server can then drain.
public struct WatchShutdown: Service {
    let store: ObjectStore

    public init(store: ObjectStore) {
        self.store = store
    }

    public func run() async throws {
        // Returns when graceful shutdown begins; throws if the group is cancelled instead. Either way
        // nothing more is served, so the watches end.
        try? await gracefulShutdown()
        store.closeWatches()
    }
}
