import ConductorAPI
import KubeClient

/// Per capability: the tasks waiting for it, the tasks held by agents, and the free slots of the agents that
/// could take one now. What an autoscaler needs to grow a pool before tasks wait long and to shrink an idle one.
///
/// Kept from informer events, so that nothing is walked per scrape: each event names the capabilities whose
/// figures it changed.
struct CapabilityLoad {
    struct Figures: Equatable {
        /// Pending, or failed and about to be retried: work that needs an agent.
        var waiting = 0
        /// Assigned or Running.
        var running = 0
        /// Over Ready agents that are not draining: their task limit less the tasks they hold, never below zero.
        var freeSlots = 0
    }

    private struct TaskView: Equatable {
        var capabilities: [String]
        var waiting: Bool
        var heldBy: String?
    }

    private struct AgentView: Equatable {
        var capabilities: [String]
        var slots: Int
        var takesTasks: Bool
    }

    private var tasks: [String: TaskView] = [:]
    private var waiting: [String: Int] = [:]
    private var running: [String: Int] = [:]
    private var agents: [String: AgentView] = [:]
    /// Tasks held per agent name (a task's `assignedAgent`), whether or not that Agent is cached.
    private var held: [String: Int] = [:]
    private var agentsByCapability: [String: Set<String>] = [:]

    // MARK: Events

    /// Takes a task event in; returns the capabilities whose figures may have changed.
    mutating func apply(_ event: InformerEvent<TaskResource>) -> Set<String> {
        switch event {
        case .added(let task), .updated(_, let task):
            return replace(task: task.key, with: Self.view(of: task))
        case .deleted(let task, _):
            return replace(task: task.key, with: nil)
        }
    }

    /// Takes an agent event in; returns the capabilities whose figures may have changed.
    mutating func apply(_ event: InformerEvent<Agent>) -> Set<String> {
        switch event {
        case .added(let agent), .updated(_, let agent):
            return replace(agent: agent.name, with: Self.view(of: agent))
        case .deleted(let agent, _):
            return replace(agent: agent.name, with: nil)
        }
    }

    func figures(for capability: String) -> Figures {
        var figures = Figures(waiting: waiting[capability] ?? 0, running: running[capability] ?? 0)
        for name in agentsByCapability[capability] ?? [] {
            guard let agent = agents[name], agent.takesTasks else { continue }
            figures.freeSlots += max(agent.slots - (held[name] ?? 0), 0)
        }
        return figures
    }

    // MARK: Tasks

    private static func view(of task: TaskResource) -> TaskView {
        let phase = task.status.effectivePhase
        return TaskView(
            capabilities: task.spec.requiredCapabilities,
            waiting: phase == .pending || (phase == .failed && !task.status.isFinal),
            heldBy: phase.holdsAgent ? task.status.assignedAgent : nil)
    }

    private mutating func replace(task key: String, with new: TaskView?) -> Set<String> {
        let old = tasks[key]
        guard old != new else { return [] }
        tasks[key] = new
        var changed = Set<String>()
        if let old { changed.formUnion(count(old, by: -1)) }
        if let new { changed.formUnion(count(new, by: 1)) }
        return changed
    }

    /// Adds `delta` of `task` to the counts; returns the capabilities touched, including those of the agent
    /// holding it (its free slots change).
    private mutating func count(_ task: TaskView, by delta: Int) -> Set<String> {
        var touched = Set(task.capabilities)
        for capability in task.capabilities {
            if task.waiting { waiting[capability, default: 0] += delta }
            if task.heldBy != nil { running[capability, default: 0] += delta }
        }
        if let agent = task.heldBy {
            held[agent, default: 0] += delta
            if held[agent] == 0 { held[agent] = nil }
            touched.formUnion(agents[agent]?.capabilities ?? [])
        }
        return touched
    }

    // MARK: Agents

    private static func view(of agent: Agent) -> AgentView {
        AgentView(
            capabilities: agent.spec.capabilities,
            slots: agent.spec.effectiveMaxConcurrentTasks,
            takesTasks: agent.status.phase == .ready && !agent.spec.isDraining)
    }

    private mutating func replace(agent name: String, with new: AgentView?) -> Set<String> {
        let old = agents[name]
        guard old != new else { return [] }
        agents[name] = new
        for capability in old?.capabilities ?? [] {
            agentsByCapability[capability]?.remove(name)
            if agentsByCapability[capability]?.isEmpty == true { agentsByCapability[capability] = nil }
        }
        for capability in new?.capabilities ?? [] { agentsByCapability[capability, default: []].insert(name) }
        return Set(old?.capabilities ?? []).union(new?.capabilities ?? [])
    }
}
