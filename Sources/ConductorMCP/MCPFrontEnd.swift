import ConductorAPI
import ConductorController
import Hummingbird
import HummingbirdCore
import KubeClient
import Logging
import NIOPosix
import ServiceLifecycle

/// The port could not be bound, worded with the flag that changes it.
public struct MCPListenError: Error, Sendable, CustomStringConvertible {
    public var description: String
}

/// The MCP front end of one replica, as a service beside its controller: it reads the controller's task and
/// agent caches, creates Tasks and parks waiting calls on the task actors; it never schedules, so every
/// replica serves it, leader or not.
///
///     let mcp = MCPFrontEnd(configuration: configuration, controller: controller, client: client,
///                           authority: NoAuthentication(), logger: logger)
///     // in the same ServiceGroup as the controller, after it
public final class MCPFrontEnd: Service {
    public let configuration: MCPConfiguration
    let server: MCPServer
    private let hub: TaskEventHub
    private let stopping: Signal
    private let controller: Controller
    private let onServing: @Sendable (String) -> Void
    private let logger: Logger

    /// - Parameter onServing: called with the front end's URL once it listens.
    public init(configuration: MCPConfiguration, controller: Controller, client: KubeClient, authority: any CallerAuthority,
                logger: Logger, onServing: @escaping @Sendable (String) -> Void = { _ in }) {
        self.configuration = configuration
        self.controller = controller
        self.logger = logger
        self.onServing = onServing
        hub = TaskEventHub()
        stopping = Signal()
        let waiter = TaskWaiter(supervisor: controller.supervisor, cache: controller.tasks, hub: hub, stopping: stopping,
                                timers: TimerQueue(clock: SystemClock()), heartbeat: configuration.progressHeartbeat)
        server = MCPServer(configuration: configuration, catalog: ToolCatalog(logger: logger),
                           submitter: TaskSubmitter(client: client, namespace: configuration.taskNamespace), waiter: waiter,
                           authority: authority, tasks: controller.tasks, agents: controller.agents, logger: logger)
    }

    public func run() async throws {
        let router = Router(context: ConnectionRequestContext.self)
        MCPHTTPEndpoint(server: server, signer: SessionSigner(key: configuration.sessionKey), ended: EndedSessions(),
                        origins: OriginPolicy(loopbackBound: configuration.isLoopback, allowed: configuration.allowedOrigins),
                        stopping: stopping, logger: logger).register(on: router)
        if let issuer = configuration.oauthIssuer {
            ProtectedResourceMetadata(issuer: issuer).register(on: router)
        }
        let bind = configuration.bind
        let port = configuration.port
        let onServing = self.onServing
        let logger = self.logger
        // The Server header of every answer.
        let serverName = "mcp-conductor"
        let responder = RequestResponder(router: router.buildResponder(), serverName: serverName, logger: logger)
        let connections = OpenConnections()
        let http = PerRequestHTTP1Channel(responder: responder, connections: connections,
                                          admission: RequestAdmission(limit: configuration.maxRequestsInProgress),
                                          bodyLimit: MCPConfiguration.maximumBodyBytes).server(
            configuration: ServerConfiguration(address: .hostname(bind, port: port), serverName: serverName),
            onServerRunning: { channel in
                let actualPort = channel.localAddress?.port ?? port
                let host = bind.contains(":") ? "[\(bind)]" : (bind == "0.0.0.0" ? "127.0.0.1" : bind)
                let url = "http://\(host):\(actualPort)\(MCPHTTPEndpoint.path)"
                logger.info("MCP front end serving", metadata: ["url": "\(url)"])
                onServing(url)
            },
            eventLoopGroup: MultiThreadedEventLoopGroup.singleton,
            logger: logger)
        let catalog = server.catalog
        let hub = self.hub
        let controller = self.controller
        let stopping = self.stopping
        try await withGracefulShutdownHandler {
            try await withThrowingDiscardingTaskGroup { group in
                group.addTask { await cancelWhenGracefulShutdown { await catalog.follow(controller.agents) } }
                group.addTask { await cancelWhenGracefulShutdown { await hub.follow(controller.tasks) } }
                do {
                    try await http.run()
                } catch {
                    if "\(error)".contains("Address already in use") {
                        throw MCPListenError(description: "the MCP port \(bind):\(port) is taken: free it, or choose another with --mcp-port")
                    }
                    throw error
                }
                // The server has stopped accepting; its connections close as their answers end.
                await connections.allClosed()
                group.cancelAll()
            }
        } onGracefulShutdown: {
            // Waiting calls answer with their task's name, GET streams end: the HTTP server can then drain.
            stopping.fire()
            catalog.finish()
        }
    }
}
