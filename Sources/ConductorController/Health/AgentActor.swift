import ConductorAPI
import KubeClient
import Logging

/// What every agent actor of one health monitor shares: one object, which each actor points at.
final class AgentActorContext: Sendable {
    let agents: Informer<Agent>
    let leases: Informer<Lease>
    let clock: any KubeClock
    /// Every actor's heartbeat-expiry timer, on one task.
    let timers: TimerQueue
    let leadership: LeadershipGate
    let events: any ControllerEventSink
    let logger: Logger
    /// Told of each status write, for the monitor's count.
    let onWrite: @Sendable () -> Void

    init(agents: Informer<Agent>, leases: Informer<Lease>, clock: any KubeClock, leadership: LeadershipGate,
         events: any ControllerEventSink, logger: Logger, onWrite: @escaping @Sendable () -> Void) {
        self.agents = agents
        self.leases = leases
        self.clock = clock
        timers = TimerQueue(clock: clock)
        self.leadership = leadership
        self.events = events
        self.logger = logger
        self.onWrite = onWrite
    }
}

/// What an agent actor is told, in order, through its mailbox.
enum AgentActorInput: Sendable {
    /// The agent or its heartbeat Lease changed, or the replica came to lead, or the actor was restarted:
    /// judge again from the caches.
    case recheck
    /// The timer armed for this heartbeat expiry fired.
    case timer(Timestamp)
}

/// A status write for an agent that the server refused for a reason other than a conflict or a missing agent.
struct AgentWriteError: Error, CustomStringConvertible {
    var agent: String
    var underlying: any Error
    var description: String { "writing the status of agent \(agent): \(underlying)" }
}

/// One Agent's mirror: judges the agent's heartbeat (`HeartbeatJudgement`) whenever the agent or its Lease
/// changes and when the heartbeat runs out, and writes the verdict to the agent's status when this replica
/// leads. One timer, for just after the heartbeat last seen expires; nothing polls.
///
/// It reads the agent and its Lease from the informers' caches at each judgement, whatever brought it there,
/// so a timer never judges on a heartbeat that a renewal, not yet delivered as an event, has replaced. It
/// keeps the last heartbeat seen: an agent that deletes its Lease expires like one that stops renewing it.
actor AgentActor {
    nonisolated let name: String
    private let context: AgentActorContext
    private var heartbeat: Heartbeat?
    private var timer = WallClockTimer()

    nonisolated let mailbox = Mailbox<AgentActorInput>()
    /// Asks the monitor to drain the mailbox: called when an input arrives and no drain runs.
    private nonisolated let wake: @Sendable (AgentActor) -> Void

    init(name: String, context: AgentActorContext, wake: @escaping @Sendable (AgentActor) -> Void) {
        self.name = name
        self.context = context
        self.wake = wake
    }

    /// Queues an input; never suspends.
    nonisolated func send(_ input: AgentActorInput) {
        if mailbox.push(input) == .startDrain { wake(self) }
    }

    /// The heartbeat the actor holds.
    var lastHeartbeat: Heartbeat? { heartbeat }

    /// Handles one input. Throws when a status write failed other than by a conflict: the monitor then
    /// restarts the actor after a backoff.
    func handle(_ input: AgentActorInput) async throws(AgentWriteError) {
        if case .timer(let fired) = input, !timer.fired(fired) { return }  // replaced by a later arming
        try await judge()
    }

    private func judge() async throws(AgentWriteError) {
        guard let agent = (try? context.agents.byIndex(Agent.nameIndex, name))?.first else { return }
        let leaseKey = "\(agent.namespace ?? "")/\(HeartbeatLease.name(forAgent: name))"
        if let lease = context.leases.get(leaseKey), let seen = Heartbeat(lease) { heartbeat = seen }
        let now = Timestamp(context.clock.wallTime)
        arm(now: now)
        guard let status = HeartbeatJudgement.status(of: agent, heartbeat: heartbeat, now: now),
              context.leadership.permitsWrite(by: .agentHealth)
        else { return }
        try await write(status, to: agent)
    }

    /// Keeps one timer, for just after the heartbeat runs out (expiry is strictly after `expiresAt`); none once
    /// it has.
    private func arm(now: Timestamp) {
        let target = heartbeat.flatMap { $0.isExpired(at: now) ? nil : $0.expiresAt.adding(.nanoseconds(1)) }
        timer.arm(at: target, now: now, queue: context.timers) { [weak self] fired in self?.send(.timer(fired)) }
    }

    /// Writes the status over the cached agent, conditional on its resourceVersion: on a conflict the newer
    /// version's event brings the actor back.
    private func write(_ status: AgentStatus, to agent: Agent) async throws(AgentWriteError) {
        var updated = agent
        updated.status = status
        do {
            let stored = try await context.agents.resource.updateStatus(updated)
            context.onWrite()
            let ready = status.phase == .ready
            context.events.record(ObjectReference(stored), type: ready ? .normal : .warning,
                                  reason: ready ? ControllerEventReason.agentReady : ControllerEventReason.agentNotReady,
                                  message: status.conditions[.ready]?.message ?? "")
            context.logger.info(ready ? "agent heartbeat renewed; Ready" : "agent heartbeat expired; NotReady", metadata: [
                "agent": "\(name)", "lastHeartbeat": "\(status.lastHeartbeat.map(\.rfc3339) ?? "")",
            ])
        } catch let error as KubeAPIError where error.reason == .conflict || error.reason == .notFound {
            context.logger.debug("agent changed while judged; judged again on its next event", metadata: ["agent": "\(name)"])
        } catch {
            ControllerMetrics.recordStatusWriteError(writer: "health")
            throw AgentWriteError(agent: name, underlying: error)
        }
    }

    /// Ends the actor: its timer stops and its mailbox closes.
    func retire() {
        timer.cancel(in: context.timers)
        mailbox.close()
    }

    /// Drops the timer, for a restart: the next judgement arms it again.
    func restart() {
        timer.cancel(in: context.timers)
    }
}
