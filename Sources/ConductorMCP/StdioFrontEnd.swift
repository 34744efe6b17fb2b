import ConductorAPI
import ConductorController
import Foundation
import KubeClient
import KubeJSON
import Logging
import Synchronization

/// MCP over stdio for desktop hosts (`conductor mcp`): newline-delimited JSON-RPC on stdin and stdout, logs
/// on stderr only. It runs no controller: it mirrors the tasks of its namespace and the agents with its own
/// informers, creates Tasks through the kubeconfig's identity, and waits on its task watch.
public final class StdioFrontEnd: Sendable {
    private let server: MCPServer
    private let hub: TaskEventHub
    private let tasks: Informer<TaskResource>
    private let agents: Informer<Agent>
    private let caller: Caller
    private let logger: Logger

    public init(configuration: MCPConfiguration, client: KubeClient, agentNamespace: String, caller: Caller, logger: Logger) throws {
        tasks = try Informer(client.resource(TaskResource.self, namespace: configuration.taskNamespace))
        agents = try Informer(client.resource(Agent.self, namespace: agentNamespace))
        hub = TaskEventHub()
        let waiter = TaskWaiter(supervisor: EventAwaiter(cache: tasks, hub: hub), cache: tasks, hub: hub, stopping: Signal(),
                                timers: TimerQueue(clock: SystemClock()), heartbeat: configuration.progressHeartbeat)
        server = MCPServer(configuration: configuration, catalog: ToolCatalog(logger: logger),
                           submitter: TaskSubmitter(client: client, namespace: configuration.taskNamespace), waiter: waiter,
                           authority: NoAuthentication(), tasks: tasks, agents: agents, logger: logger)
        self.caller = caller
        self.logger = logger
    }

    /// Serves until stdin ends. Requests run concurrently (a waiting call does not hold up a ping or its own
    /// cancellation); answers and notifications are written one line each, never interleaved.
    public func run() async throws {
        let output = LineWriter()
        let lines = StdinLines.stream()
        let tasks = self.tasks, agents = self.agents, hub = self.hub, catalog = server.catalog
        try await withThrowingDiscardingTaskGroup { group in
            group.addTask { try await tasks.run() }
            group.addTask { try await agents.run() }
            group.addTask { await hub.follow(tasks) }
            group.addTask { await catalog.follow(agents) }
            try await tasks.waitUntilSynced()
            try await agents.waitUntilSynced()
            logger.info("MCP over stdio ready")
            var session = SessionClaims(nonce: UUID().uuidString, protocolVersion: ProtocolVersion.latest, caller: caller.username,
                                        issuedAt: Int64(Date().timeIntervalSince1970))
            let changes = catalog.changes()
            group.addTask {
                for await _ in changes {
                    output.write(JSONRPCMessage.notification("notifications/tools/list_changed", [:]))
                }
            }
            for await line in lines where !line.allSatisfy(\.isWhitespace) {
                let message: JSONRPCMessage
                do throws(JSONRPCError) {
                    message = try JSONRPCMessage.parse(Array(line.utf8))
                } catch {
                    output.write(JSONRPCMessage.error(id: nil, error))
                    continue
                }
                switch message {
                case .request(let id, "initialize", let params):
                    do throws(JSONRPCError) {
                        let (result, version) = try server.initialize(params)
                        session.protocolVersion = version
                        output.write(JSONRPCMessage.result(id: id, result))
                    } catch {
                        output.write(JSONRPCMessage.error(id: id, error))
                    }
                case .request(let id, let method, let params):
                    let context = RequestContext(session: session, caller: caller, sink: NotificationSink { output.write($0) })
                    group.addTask {
                        if let answer = await self.server.handle(request: id, method: method, params: params, context: context) {
                            output.write(answer)
                        }
                    }
                case .notification(let method, let params):
                    let context = RequestContext(session: session, caller: caller, sink: nil)
                    group.addTask { await self.server.handle(notification: method, params: params, context: context) }
                case .response:
                    break
                }
            }
            logger.info("stdin ended: stopping")
            catalog.finish()
            group.cancelAll()
        }
    }
}

/// Writes one JSON-RPC message per line on stdout, one at a time, in the order they are sent: a call's progress
/// comes from callbacks and must reach the client before its answer. A line is small and stdout a pipe its
/// client reads, so the write is brief; it blocks its thread as the actor that did this before blocked its own.
private final class LineWriter: Sendable {
    private let lock = Mutex(())

    func write(_ message: JSON) {
        var bytes = message.serialized()
        bytes.append(UInt8(ascii: "\n"))
        lock.withLock { _ in FileHandle.standardOutput.write(Data(bytes)) }
    }
}

/// Stdin's lines, read on a thread of their own (reading blocks), ending at end of file.
private enum StdinLines {
    static func stream() -> AsyncStream<String> {
        let (stream, continuation) = AsyncStream.makeStream(of: String.self)
        let thread = Thread {
            while let line = readLine(strippingNewline: true) {
                continuation.yield(line)
            }
            continuation.finish()
        }
        thread.start()
        return stream
    }
}
