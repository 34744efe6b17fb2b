import ConductorAPI
import KubeClient

/// What the assignment loop is told through its one lock-free queue. Every input the scheduler needs comes
/// this way, so that one consumer owns the scheduler and applies them in order, with no lock around it.
///
/// Agent and task changes carry names, not snapshots: the consumer rebuilds what it needs from the informers'
/// caches when it takes the input, so a change that another producer enqueued earlier can never overwrite a
/// newer view with an older one.
enum AssignmentInput: Sendable {
    /// A task actor's task: Pending and due now (`SchedulableTaskSink.offer`).
    case offer(TaskResource)
    /// An agent appeared or changed, or the tasks that hold its slots changed: its snapshot is rebuilt.
    case agentChanged(name: String)
    /// An agent was deleted.
    case agentRemoved(name: String)
    /// A task (namespace/name) left Pending, left its agent, or was deleted: what the scheduler holds for it
    /// (a reservation, a place among the waiting tasks) is settled against the cache.
    case taskEnded(key: String)
    /// The replica came to lead (true) or stopped (false): only a leader schedules and writes.
    case leadership(Bool)
    /// A status write of an earlier pass came back and released a reservation: waiting tasks may fit now.
    case writeReleasedRoom

    /// What one task event means to the scheduler: the agents whose held tasks changed, and whether the task
    /// ended in the sense of `taskEnded`. A Pending task that stays Pending needs nothing: its actor offers it.
    static func inputs(for event: InformerEvent<TaskResource>) -> [AssignmentInput] {
        let old: TaskResource?
        let new: TaskResource?
        switch event {
        case .added(let task): (old, new) = (nil, task)
        case .updated(let before, let after): (old, new) = (before, after)
        case .deleted(let task, _): (old, new) = (task, nil)
        }
        var inputs: [AssignmentInput] = []
        let oldAgent = old?.activeAgent
        let newAgent = new?.activeAgent
        if oldAgent != newAgent {
            if let oldAgent { inputs.append(.agentChanged(name: oldAgent)) }
            if let newAgent { inputs.append(.agentChanged(name: newAgent)) }
        } else if let newAgent, old?.spec.resources != new?.spec.resources {
            inputs.append(.agentChanged(name: newAgent))
        }
        let key = (new ?? old)!.key
        if new == nil || new?.status.effectivePhase != .pending || oldAgent != nil {
            inputs.append(.taskEnded(key: key))
        }
        return inputs
    }
}
