import ConductorAPI
import KubeClient
import Logging
import Synchronization

/// Watches the agents' heartbeat Leases and keeps each agent's Ready state in line with them, as the node
/// lifecycle controller does with kubelets' Leases (KEP-589): an agent whose Lease expired (renewTime +
/// leaseDurationSeconds < now, by the injected clock) is marked NotReady with Ready=False `HeartbeatExpired`,
/// and Ready again once the Lease is renewed (`HeartbeatJudgement`).
///
/// It writes only the Agent's status. The supervisor's Agent watch feeds `AgentHealth` from it, and the
/// lifecycle policy then returns the tasks the agent held to Pending; the assignment loop stops placing tasks on
/// it for the same reason. So a lost agent is handled by the same path as one that says it is NotReady.
///
/// It is the agents' supervisor: one `AgentActor` per Agent, made when the agent appears, fed the events of
/// the agent and its Lease, retired when the agent is deleted, and restarted after a backoff, from the
/// caches, when a status write of its fails. Nothing polls: each actor arms one timer, for its heartbeat's
/// expiry.
///
/// Only the leader writes (`LeadershipGate`); a follower's actors keep their timers, judge, and withhold the
/// write; every agent is judged again the moment the replica comes to lead.
///
///     let leases = try Informer(client.resource(Lease.self, namespace: Installation.systemNamespace),
///                               options: HealthMonitor.leaseWatchOptions)
///     let monitor = try HealthMonitor(leases: leases, agents: agentInformer, clock: SystemClock(), logger: logger)
///     group.addTask { await monitor.run() }
public actor HealthMonitor {
    /// The heartbeat Leases carry `Labels.agent`: the watch takes those and leaves the leader election's.
    public static let leaseWatchOptions = WatchOptions(labelSelector: Labels.agent)

    private nonisolated let leases: Informer<Lease>
    private nonisolated let agents: Informer<Agent>
    private nonisolated let leadership: LeadershipGate
    private let context: AgentActorContext
    /// The wait before restarting an actor whose write failed, by how often that happened in a row.
    private var failuresInARow: ConsecutiveFailures<String>

    private var actors: [String: AgentActor] = [:]
    /// Actors whose mailbox got an input while no drain ran: `run()` starts a drain for each.
    private nonisolated let wakeups: AsyncStream<AgentActor>
    private nonisolated let waker: AsyncStream<AgentActor>.Continuation
    private nonisolated let writes = WriteCount()
    /// Agent status writes made, for tests.
    public nonisolated var statusWrites: Int { writes.value.load(ordering: .relaxed) }

    /// Adds the agent-name index to the Agent informer (or uses the one there).
    public init(leases: Informer<Lease>, agents: Informer<Agent>, clock: any KubeClock,
                leadership: LeadershipGate = LeadershipGate(leading: true), events: any ControllerEventSink = NoEvents(), logger: Logger,
                writeRetryBackoff: RetryBackoff = RetryBackoff(base: .milliseconds(200), cap: .seconds(10))) throws(InformerError) {
        try InformerIndex.ensure(Agent.nameIndex, on: agents)
        self.leases = leases
        self.agents = agents
        self.leadership = leadership
        failuresInARow = ConsecutiveFailures(backoff: writeRetryBackoff)
        (wakeups, waker) = AsyncStream.makeStream(of: AgentActor.self)
        let writes = self.writes
        context = AgentActorContext(agents: agents, leases: leases, clock: clock, leadership: leadership, events: events,
                                    logger: logger, onWrite: { writes.value.add(1, ordering: .relaxed) })
    }

    /// Supervises the agents' actors as the informers report agents and Leases, until the calling task is
    /// cancelled; then retires them all.
    public func run() async {
        await withDiscardingTaskGroup { group in
            group.addTask {
                for await event in self.leases.events() { await self.leaseChanged(Heartbeat.agentName(of: event.object)) }
            }
            group.addTask {
                // As a follower every actor withheld its writes: each judges again.
                for await _ in self.leadership.gains() { await self.recheckAll() }
            }
            group.addTask {
                for await event in self.agents.events() { await self.apply(event) }
                self.waker.finish()
            }
            // A drain per actor with something to handle; it ends when the mailbox is empty.
            for await actor in wakeups {
                group.addTask { await self.drive(actor) }
            }
            group.cancelAll()
        }
        for actor in actors.values { await actor.retire() }
        actors.removeAll()
    }

    /// The heartbeat the agent's actor holds.
    public func heartbeat(ofAgent name: String) async -> Heartbeat? {
        await actors[name]?.lastHeartbeat
    }

    /// Agents with an actor now.
    public var actorCount: Int { actors.count }

    // MARK: Supervision

    private func apply(_ event: InformerEvent<Agent>) {
        let name = event.object.name
        if case .deleted = event {
            failuresInARow.reset(name)
            guard let actor = actors.removeValue(forKey: name) else { return }
            Task { await actor.retire() }
            return
        }
        if let actor = actors[name] {
            actor.send(.recheck)
            return
        }
        let actor = AgentActor(name: name, context: context) { [waker] actor in waker.yield(actor) }
        actors[name] = actor
        actor.send(.recheck)
    }

    private func leaseChanged(_ agent: String) {
        actors[agent]?.send(.recheck)
    }

    private func recheckAll() {
        for actor in actors.values { actor.send(.recheck) }
    }

    /// Feeds one actor its queued inputs until none is left or it is retired; restarts it after a backoff when a
    /// write fails.
    private nonisolated func drive(_ actor: AgentActor) async {
        await MailboxFeeder.feed(
            actor.mailbox, clock: context.clock,
            handle: { (input) async throws(AgentWriteError) in
                try await actor.handle(input)
                await self.succeeded(actor.name)
            },
            backoff: { await self.failed(actor.name, $0) },
            restart: {
                await actor.restart()
                actor.send(.recheck)
            })
    }

    private func succeeded(_ name: String) {
        failuresInARow.reset(name)
    }

    private func failed(_ name: String, _ error: AgentWriteError) -> Duration {
        let (count, delay) = failuresInARow.record(name)
        context.logger.warning("could not write the agent's status; judging it again later", metadata: [
            "agent": "\(name)", "error": "\(error)", "failures": "\(count)", "delay": "\(delay)",
        ])
        return delay
    }
}

/// The count of status writes the actors made.
private final class WriteCount: Sendable {
    let value = Atomic<Int>(0)
}
