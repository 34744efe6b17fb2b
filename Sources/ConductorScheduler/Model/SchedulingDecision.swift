/// The outcome for one task of a batch.
public enum SchedulingDecision: Hashable, Sendable {
    /// The agent's slot and resources are reserved for the task; write the assignment, then `confirm` it, or
    /// `release` it if the write fails.
    case assign(task: TaskID, agent: String)
    /// No agent can take the task now; the scheduler keeps it among the waiting tasks and offers it back through
    /// `takeTasksToReoffer(now:)` when an agent that might take it changes.
    case unschedulable(task: TaskID, reason: UnschedulableReason)

    public var task: TaskID {
        switch self {
        case .assign(let task, _), .unschedulable(let task, _): task
        }
    }
}

/// Why no agent could take a task: the most specific reason among the agents that have every required
/// capability. The filters run in this order, and the reason names the furthest any such agent got, so it
/// points at what would have to change:
/// capability, then Ready and not draining, then required tags, then a free slot, then resources.
public enum UnschedulableReason: String, Hashable, Sendable, CaseIterable {
    /// No agent, in any state, has every required capability.
    case noAgentWithCapability
    /// Agents with the capabilities exist, but none is Ready and not draining. Kept apart from the others
    /// because it calls for a different fix (bring agents back) than capacity does.
    case noReadyAgent
    /// Ready agents with the capabilities lack a required tag.
    case tagsNotMatched
    /// Every fitting agent has all its slots taken.
    case allAgentsBusy
    /// Agents with a free slot lack the CPU, memory or GPU the task asks for.
    case insufficientResources
}
