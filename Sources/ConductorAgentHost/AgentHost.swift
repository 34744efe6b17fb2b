import ConductorAPI
import ConductorAgent
import Foundation
import KubeJSON
import Logging
import Synchronization

/// What `conductor agent` runs around the agent runtime: one executor per capability, each attempt routed to
/// its capability's executor with a deadline (the task's, or the capability's timeout if earlier), and
/// counted in the metrics. The MCP servers' tools come and go (`notifications/tools/list_changed`, a
/// restarted server), so the table of executors is behind a lock: read by every attempt, written rarely.
public final class AgentHost: Sendable {
    public let settings: AgentSettings
    private let table: Mutex<[String: Entry]>
    private let sessions: [MCPServerSession]
    /// Each MCP server's tools now, by server name.
    private let serverTools = Mutex<[String: [MCPTool]]>([:])
    let metrics = AgentMetrics()
    let logger: Logger

    struct Entry: Sendable {
        var timeoutSeconds: Double?
        var executor: any TaskExecutor
    }

    public init(settings: AgentSettings, logger: Logger) {
        self.settings = settings
        self.logger = logger
        var executors: [String: Entry] = [:]
        for capability in settings.capabilities {
            switch capability.executor {
            case .command(let command):
                executors[capability.name] = Entry(timeoutSeconds: capability.timeoutSeconds,
                                                   executor: CommandExecutor(configuration: command, agentName: settings.name, logger: logger))
            case .http(let http):
                executors[capability.name] = Entry(timeoutSeconds: capability.timeoutSeconds,
                                                   executor: HTTPExecutor(configuration: http, agentName: settings.name))
            }
        }
        table = Mutex(executors)
        sessions = settings.mcpServers.map { MCPServerSession(configuration: $0, logger: logger) }
    }

    /// Starts the MCP servers and lists their tools: the capabilities they add. `onToolsChanged` is told the
    /// whole list again whenever a server's tools change. Throws when a server cannot be started.
    public func startMCPServers(onToolsChanged: @escaping @Sendable ([CapabilityDetail]) async -> Void) async throws -> [CapabilityDetail] {
        for session in sessions {
            try await session.start { [weak self] tools in
                guard let self else { return }
                self.install(tools, of: session)
                await onToolsChanged(self.toolDetails)
            }
            install(await session.tools, of: session)
        }
        return toolDetails
    }

    public func stopMCPServers() async {
        for session in sessions { await session.stop() }
    }

    /// The MCP servers' tools as capabilities, in the configuration's order, without those whose names are
    /// taken already.
    var toolDetails: [CapabilityDetail] {
        let byServer = serverTools.withLock { $0 }
        var taken = Set(settings.capabilities.map(\.name))
        var details: [CapabilityDetail] = []
        for server in settings.mcpServers {
            for tool in byServer[server.name] ?? [] where taken.insert(tool.capability).inserted { details.append(tool.detail) }
        }
        return details
    }

    private func install(_ tools: [MCPTool], of session: MCPServerSession) {
        let server = session.configuration
        let previous = serverTools.withLock { state in
            defer { state[server.name] = tools }
            return state[server.name] ?? []
        }
        let configured = Set(settings.capabilities.map(\.name))
        table.withLock { table in
            for tool in previous where !configured.contains(tool.capability) { table[tool.capability] = nil }
            for tool in tools where !configured.contains(tool.capability) {
                if table[tool.capability] != nil, !previous.contains(where: { $0.capability == tool.capability }) {
                    logger.warning("tool skipped: another capability has its name", metadata: ["tool": "\(tool.capability)", "server": "\(server.name)"])
                    continue
                }
                table[tool.capability] = Entry(timeoutSeconds: server.timeoutSeconds, executor: MCPToolExecutor(session: session, tool: tool.name))
            }
        }
    }

    /// The runtime's handler.
    public var handler: ProgressingTaskHandler {
        { task, progress in try await self.run(task, progress: progress) }
    }

    func run(_ task: TaskResource, progress: ProgressReporter) async throws -> JSON {
        // A task requires one or more capabilities; the first this agent has an executor for runs it.
        let executors = table.withLock { $0 }
        guard let name = task.spec.requiredCapabilities.first(where: { executors[$0] != nil })
                ?? (task.spec.requiredCapabilities.isEmpty ? executors.keys.sorted().first : nil),
              let entry = executors[name] else {
            throw NoExecutorError(task: task.key, required: task.spec.requiredCapabilities)
        }
        let executor = entry.executor
        let request = ExecutionRequest(task: task, capability: name, deadline: nil, deadlineOrigin: "")
        let timed = Self.deadline(for: request, timeoutSeconds: entry.timeoutSeconds, now: .now, wallNow: Timestamp(Date()))
        let started = ContinuousClock.now
        metrics.started(name)
        var logger = logger
        logger[metadataKey: "task"] = "\(task.key)"
        logger[metadataKey: "attempt"] = "\(request.attempt)"
        do {
            let result = try await executor.execute(timed, progress: progress)
            do throws(SizeLimitError) {
                try Limits.checkResult(result)
            } catch {
                throw ExecutionError.resultTooLarge(what: "the result", limit: error.limit)
            }
            metrics.ended(name, after: ContinuousClock.now - started, failure: nil, cancelled: false)
            logger.info("attempt completed", metadata: ["capability": "\(name)"])
            return result
        } catch {
            let cancelled = error is CancellationError || Task.isCancelled
            let reason = (error as? any ReasonedFailure)?.failureReason ?? .executionFailed
            metrics.ended(name, after: ContinuousClock.now - started, failure: reason, cancelled: cancelled)
            if cancelled {
                logger.info("attempt cancelled", metadata: ["capability": "\(name)"])
            } else {
                logger.info("attempt failed", metadata: ["capability": "\(name)", "reason": "\(reason.rawValue)", "error": "\(error)"])
            }
            throw error
        }
    }

    /// The request with its deadline: the earlier of the task's deadline and the capability's timeout.
    static func deadline(for request: ExecutionRequest, timeoutSeconds: Double?, now: ContinuousClock.Instant,
                         wallNow: Timestamp) -> ExecutionRequest {
        var request = request
        var candidates: [(ContinuousClock.Instant, String)] = []
        if let deadline = request.task.spec.deadline {
            candidates.append((now + wallNow.duration(to: deadline), ExecutionError.taskDeadline))
        }
        if let timeoutSeconds {
            candidates.append((now + .seconds(timeoutSeconds), "the capability's timeout of \(timeoutSeconds)s"))
        }
        if let earliest = candidates.min(by: { $0.0 < $1.0 }) {
            request.deadline = earliest.0
            request.deadlineOrigin = earliest.1
        }
        return request
    }
}

/// A task whose capabilities this agent has no executor for (it was assigned by its capabilities, so the
/// configuration changed under it).
struct NoExecutorError: Error, CustomStringConvertible {
    var task: String
    var required: [String]
    var description: String { "task \(task) requires \(required.joined(separator: ", ")), and this agent has no executor for any of them" }
}
