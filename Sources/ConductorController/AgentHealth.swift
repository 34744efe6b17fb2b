import ConductorAPI
import KubeClient
import Synchronization

/// The agents that are NotReady now, as an `Informer<Agent>` tells them: what the lifecycle policy reads to
/// find tasks held by a lost agent. Read by every task actor and written by the supervisor's agent loop, so
/// it sits behind a lock rather than on an actor: a read is a short copy and never suspends.
public final class AgentHealth: Sendable {
    private let notReady = Mutex<Set<String>>([])

    public init() {}

    /// Names of the agents whose phase is NotReady.
    public var lostAgents: Set<String> { notReady.withLock { $0 } }

    /// Takes in one agent event; returns the agent's name when this event made it NotReady, so that the tasks
    /// it holds can be looked at again (a task does not change when its agent dies).
    /// A deleted agent leaves the set: its tasks are not touched here (the health monitor's job).
    @discardableResult
    public func observe(_ event: InformerEvent<Agent>) -> String? {
        let agent = event.object
        let isLost: Bool
        if case .deleted = event { isLost = false } else { isLost = agent.status.phase == .notReady }
        return notReady.withLock { set in
            if isLost { return set.insert(agent.name).inserted ? agent.name : nil }
            set.remove(agent.name)
            return nil
        }
    }
}

/// Where a task actor puts its task when it is Pending and may be assigned now (not backing off): the seam
/// to the scheduler (module ConductorScheduler), whose lock-free assignment queue implements it.
/// Called on the actor, so it must not block: enqueue and return. A task may be offered again after it
/// changed; the scheduler keeps the latest offer per task.
public protocol SchedulableTaskSink: Sendable {
    func offer(_ task: TaskResource)
}
