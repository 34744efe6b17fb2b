import ConductorAPI
import KubeClient
import KubeJSON
import Logging
import Synchronization

/// The capability tools: one per capability that at least one Ready, non-draining agent offers, described
/// by the first such agent (by name) that registered details for it. Rebuilt from the agent cache at each
/// agent event; subscribers of `changes()` hear when the set or a definition changed (each GET stream turns
/// that into `notifications/tools/list_changed`).
final class ToolCatalog: Sendable {
    private struct State {
        var tools: [String: ToolDefinition] = [:]
        var subscribers: [UInt64: AsyncStream<Void>.Continuation] = [:]
        var nextID: UInt64 = 0
        var finished = false
    }

    private let state = Mutex(State())
    private let logger: Logger

    init(logger: Logger) {
        self.logger = logger
    }

    /// Follows the agents until the stream ends or the calling task is cancelled. A burst of agent events (a
    /// restart's list, a fleet scaling out) becomes one rebuild: a rebuild reads the whole cache, so one per
    /// event was quadratic in the agents (2,000 Agents took minutes and held the agent informer back).
    func follow(_ agents: Informer<Agent>) async {
        let (changed, signal) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        await withDiscardingTaskGroup { group in
            group.addTask {
                for await _ in agents.events() { signal.yield() }
                signal.finish()
            }
            for await _ in changed {
                update(from: agents.list())
            }
            group.cancelAll()
        }
    }

    /// Recomputes the tools from `agents`; tells the subscribers when they changed.
    func update(from agents: [Agent]) {
        let tools = Self.tools(offeredBy: agents, logger: logger)
        let listeners: [AsyncStream<Void>.Continuation] = state.withLock { state in
            guard state.tools != tools else { return [] }
            state.tools = tools
            return Array(state.subscribers.values)
        }
        for listener in listeners { listener.yield() }
    }

    func tool(named name: String) -> ToolDefinition? { state.withLock { $0.tools[name] } }

    /// The tools by name.
    var tools: [ToolDefinition] { state.withLock { $0.tools.values.sorted { $0.name < $1.name } } }

    /// One element per change from now on; ends at `finish()`. Only the latest matters, so at most one waits.
    func changes() -> AsyncStream<Void> {
        let (stream, continuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        let id: UInt64? = state.withLock { state in
            guard !state.finished else { return nil }
            state.nextID += 1
            state.subscribers[state.nextID] = continuation
            return state.nextID
        }
        guard let id else {
            continuation.finish()
            return stream
        }
        continuation.onTermination = { [weak self] _ in
            _ = self?.state.withLock { $0.subscribers.removeValue(forKey: id) }
        }
        return stream
    }

    /// Ends every `changes()` stream (shutdown: the GET streams close).
    func finish() {
        let listeners = state.withLock { state in
            state.finished = true
            defer { state.subscribers.removeAll() }
            return Array(state.subscribers.values)
        }
        for listener in listeners { listener.finish() }
    }

    static func tools(offeredBy agents: [Agent], logger: Logger) -> [String: ToolDefinition] {
        var tools: [String: ToolDefinition] = [:]
        for agent in agents.sorted(by: { $0.key < $1.key })
        where agent.status.phase == .ready && !agent.spec.isDraining {
            for capability in agent.spec.capabilities where tools[capability] == nil {
                guard ToolDefinition.isValidName(capability), !capability.hasPrefix(ToolDefinition.reservedPrefix) else {
                    logger.debug("capability not offered as a tool: its name breaks the tool-name rules or is reserved",
                                 metadata: ["capability": "\(capability)", "agent": "\(agent.key)"])
                    continue
                }
                let detail = agent.spec.capabilityDetails.first { $0.name == capability }
                var input: JSON = ["type": "object"]
                if let schema = detail?.inputSchema, schema.object != nil { input = schema }
                // 2025-11-25 wants an object root for outputSchema; anything else would make clients reject results.
                var output: JSON?
                if let schema = detail?.outputSchema, schema["type"] == "object" { output = schema }
                tools[capability] = ToolDefinition(
                    name: capability, title: detail?.title,
                    description: detail?.description ?? "Runs the capability \(capability) on an agent of the conductor.",
                    inputSchema: input, outputSchema: output)
            }
        }
        return tools
    }
}
