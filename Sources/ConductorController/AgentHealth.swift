import ConductorAPI
import KubeClient
import OrderedCollections
import Synchronization

/// The agents that are NotReady now or were deleted, as an `Informer<Agent>` tells them: what the lifecycle policy reads to
/// find tasks held by a lost agent. Read by every task actor and written by the supervisor's agent loop, so
/// it sits behind a lock rather than on an actor: a read is a short copy and never suspends.
public final class AgentHealth: Sendable {
    private struct State {
        var notReady: Set<String> = []
        /// Deleted agents, oldest first: their tasks must go back to Pending as a lost agent's do. Kept only
        /// until `deletedMemory` later deletions, long after those tasks were requeued (seconds).
        var deleted: OrderedSet<String> = []
    }

    private let state = Mutex(State())
    /// How many deleted agents are remembered.
    static let deletedMemory = 10_000

    public init() {}

    /// Whether the agent's tasks must return to Pending: it is NotReady, or was deleted.
    public func isLost(_ agent: String) -> Bool {
        state.withLock { $0.notReady.contains(agent) || $0.deleted.contains(agent) }
    }

    /// Takes in one agent event; returns the agent's name when this event lost it (NotReady, or deleted), so
    /// that the tasks it holds can be looked at again (a task does not change when its agent dies).
    @discardableResult
    public func observe(_ event: InformerEvent<Agent>) -> String? {
        let agent = event.object
        return state.withLock { state in
            if case .deleted = event {
                state.notReady.remove(agent.name)
                state.deleted.append(agent.name)
                if state.deleted.count > Self.deletedMemory { state.deleted.removeFirst() }
                return agent.name
            }
            state.deleted.remove(agent.name)  // registered again under the same name
            if agent.status.phase == .notReady {
                return state.notReady.insert(agent.name).inserted ? agent.name : nil
            }
            state.notReady.remove(agent.name)
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
