import ConductorAPI
import ConductorScheduler
import Foundation
import KubeClient

// The API's Agents and Tasks as the scheduler sees them. The scheduler knows no Kubernetes types, so the
// conversions live here, next to the loop that feeds it.

extension TaskResource {
    /// The agent whose slot the task holds (Assigned or Running on it), if any.
    var activeAgent: String? {
        status.effectivePhase.holdsAgent ? status.assignedAgent : nil
    }

    /// The tasks that hold a slot, filed by their agent: what an agent's snapshot lists.
    static let activeAgentIndex = InformerIndex<TaskResource>("conductor:activeAgent") { task in
        task.activeAgent.map { [$0] } ?? []
    }
}

extension Agent {
    /// Agents by name alone, whatever the informer's namespace: tasks name their agent without one.
    static let nameIndex = InformerIndex<Agent>("conductor:agentName") { [$0.name] }
}

extension InformerIndex {
    /// Adds `index` to `informer`, or keeps the one there: several parts of one process may share an informer.
    static func ensure(_ index: InformerIndex<Object>, on informer: Informer<Object>) throws(InformerError) {
        do {
            try informer.addIndex(index)
        } catch .duplicateIndex {
            return
        }
    }
}

extension AgentSnapshot {
    /// The agent as the scheduler needs it, with the tasks the cluster shows holding its slots.
    init(_ agent: Agent, activeTasks: [TaskResource]) {
        var listed: [TaskID: ResourceAmounts] = [:]
        for task in activeTasks { listed[TaskID(task.key)] = ResourceAmounts(request: task.spec.resources) }
        self.init(
            name: agent.name,
            isReady: agent.status.phase == .ready,
            isDraining: agent.spec.isDraining,
            capabilities: Set(agent.spec.capabilities),
            tags: Set(agent.spec.tags),
            maxConcurrentTasks: agent.spec.effectiveMaxConcurrentTasks,
            capacity: ResourceAmounts(capacity: agent.spec.resources),
            activeTasks: listed)
    }
}

extension TaskRequest {
    /// The task as the scheduler needs it. A task without a creation time (one the server has not stored yet)
    /// counts as created `now`.
    init(_ task: TaskResource, now: SchedulingInstant) {
        let affinity = task.spec.affinity
        self.init(
            id: TaskID(task.key),
            priority: task.spec.effectivePriority,
            createdAt: task.metadata.creationTimestamp
                .flatMap { try? Timestamp(rfc3339: $0) }
                .map(SchedulingInstant.init) ?? now,
            requiredCapabilities: Set(task.spec.requiredCapabilities),
            resources: ResourceAmounts(request: task.spec.resources),
            requiredTags: Set(affinity?.required ?? []),
            preferredTags: Set(affinity?.preferred ?? []),
            avoidedTags: Set(affinity?.avoided ?? []))
    }
}

extension ResourceAmounts {
    /// A task's request: what it leaves unset it does not need.
    init(request: ComputeResources?) {
        self.init(cpuMillicores: max(request?.cpu?.milliUnits ?? 0, 0),
                  memoryBytes: max(request?.memory?.units ?? 0, 0),
                  gpu: request?.gpu ?? false)
    }

    /// An agent's capacity: CPU or memory it does not declare never limits it.
    init(capacity: ComputeResources?) {
        self.init(cpuMillicores: capacity?.cpu.map { max($0.milliUnits, 0) } ?? .max,
                  memoryBytes: capacity?.memory.map { max($0.units, 0) } ?? .max,
                  gpu: capacity?.gpu ?? false)
    }
}

extension SchedulingInstant {
    init(_ timestamp: Timestamp) {
        self.init(millisecondsSinceEpoch: timestamp.secondsSinceEpoch * 1000 + Int64(timestamp.nanoseconds / 1_000_000))
    }
}

extension UnschedulableReason {
    /// The reason the task's Scheduled=False condition gives.
    var conditionReason: Reason {
        switch self {
        case .noAgentWithCapability: .noAgentWithCapability
        case .noReadyAgent: .noReadyAgent
        case .tagsNotMatched: .tagsNotMatched
        case .allAgentsBusy: .allAgentsBusy
        case .insufficientResources: .insufficientResources
        }
    }

    /// What the condition says, for people. It names only what the task asks for, never counts that change
    /// from pass to pass, so that the same reason gives the same text and is written once.
    func message(for task: TaskResource) -> String {
        let capabilities = task.spec.requiredCapabilities.sorted().joined(separator: ", ")
        switch self {
        case .noAgentWithCapability:
            return "no agent offers every required capability (\(capabilities))"
        case .noReadyAgent:
            return "agents offer the required capabilities (\(capabilities)), but none is Ready and not draining"
        case .tagsNotMatched:
            let tags = (task.spec.affinity?.required ?? []).sorted().joined(separator: ", ")
            return "no Ready agent with the required capabilities has every required tag (\(tags))"
        case .allAgentsBusy:
            return "every Ready agent that fits already runs its maxConcurrentTasks; assigned as soon as one frees a slot"
        case .insufficientResources:
            return "no fitting agent with a free slot has the CPU, memory or GPU the task requests"
        }
    }
}
