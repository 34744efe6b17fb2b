import KubeClient
import ServiceLifecycle

/// Closes the clients of the parts that run beside the local API server in one process, once graceful shutdown
/// begins and those parts have stopped (it is placed before them, so shut down after them), and before the API
/// server's own graceful shutdown, which waits for every open connection: an idle client connection left open
/// held `conductor dev`'s exit until the 10 s limit.
struct ClientShutdown: Service {
    let clients: [KubeClient]

    func run() async throws {
        // Returns when graceful shutdown begins; throws when the group is cancelled instead. Either way, close.
        try? await gracefulShutdown()
        for client in clients { await client.shutdown() }
    }
}
