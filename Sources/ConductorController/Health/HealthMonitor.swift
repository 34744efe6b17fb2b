import ConductorAPI
import HeapModule
import KubeClient
import Logging

/// Watches the agents' heartbeat Leases and keeps each agent's Ready state in line with them, as the node
/// lifecycle controller does with kubelets' Leases (KEP-589): an agent whose Lease expired (renewTime +
/// leaseDurationSeconds < now, by the injected clock) is marked NotReady with Ready=False `HeartbeatExpired`,
/// and Ready again once the Lease is renewed (`HeartbeatJudgement`).
///
/// It writes only the Agent's status. The supervisor's Agent watch feeds `AgentHealth` from it, and the
/// lifecycle policy then returns the tasks the agent held to Pending; the assignment loop stops placing tasks on
/// it for the same reason. So a lost agent is handled by the same path as one that says it is NotReady.
///
/// Nothing polls: one timer is armed for the earliest heartbeat that is still current, and Lease and Agent
/// events re-judge the agent they concern.
///
/// Only the leader writes (`LeadershipGate`); a follower keeps the heartbeats and its timer, judges, withholds
/// the write, and judges every agent again the moment it comes to lead.
///
///     let leases = try Informer(client.resource(Lease.self, namespace: Installation.systemNamespace),
///                               options: HealthMonitor.leaseWatchOptions)
///     let monitor = try HealthMonitor(leases: leases, agents: agentInformer, clock: SystemClock(), logger: logger)
///     group.addTask { await monitor.run() }
public actor HealthMonitor {
    /// The heartbeat Leases carry `Labels.agent`: the watch takes those and leaves the leader election's.
    public static let leaseWatchOptions = WatchOptions(labelSelector: Labels.agent)

    private enum Input: Sendable {
        /// A Lease or Agent event concerning this agent.
        case agent(name: String)
        /// The timer armed for this time fired.
        case timer(Timestamp)
        /// The replica's leadership, as the gate says: first as it is, then each change.
        case leadership(Bool)
    }

    /// When an agent's heartbeat, as last seen, runs out.
    private struct Expiry: Comparable {
        var expiresAt: Timestamp
        var agent: String

        static func < (lhs: Expiry, rhs: Expiry) -> Bool {
            (lhs.expiresAt, lhs.agent) < (rhs.expiresAt, rhs.agent)
        }
    }

    private nonisolated let leases: Informer<Lease>
    private nonisolated let agents: Informer<Agent>
    private let clock: any KubeClock
    private let logger: Logger
    private nonisolated let leadership: LeadershipGate
    private let events: any ControllerEventSink
    private var wasLeading: Bool?

    /// The latest heartbeat seen per agent. Kept when the Lease is deleted: an agent that stops heartbeating
    /// by deleting its Lease expires like one that stops renewing it.
    private var heartbeats: [String: Heartbeat] = [:]
    /// Heartbeats still current when seen, earliest first; an entry a renewal replaced is skipped when popped.
    private var expiries = Heap<Expiry>()
    private var timer = WallClockTimer()
    private var retries: DelayedRetries<String>
    /// Agent status writes made, for tests and metrics.
    public private(set) var statusWrites = 0

    private nonisolated let inputs: AsyncStream<Input>
    private nonisolated let mailbox: AsyncStream<Input>.Continuation

    /// Adds the agent-name index to the Agent informer (or uses the one there).
    public init(leases: Informer<Lease>, agents: Informer<Agent>, clock: any KubeClock,
                leadership: LeadershipGate = LeadershipGate(leading: true), events: any ControllerEventSink = NoEvents(), logger: Logger,
                writeRetryBackoff: RetryBackoff = RetryBackoff(base: .milliseconds(200), cap: .seconds(10))) throws(InformerError) {
        try InformerIndex.ensure(Agent.nameIndex, on: agents)
        self.leases = leases
        self.agents = agents
        self.clock = clock
        self.logger = logger
        retries = DelayedRetries(backoff: writeRetryBackoff)
        self.leadership = leadership
        self.events = events
        (inputs, mailbox) = AsyncStream.makeStream(of: Input.self)
    }

    /// Judges agents as their Leases and statuses change and as heartbeats run out, until the calling task is
    /// cancelled.
    public func run() async {
        await withDiscardingTaskGroup { group in
            group.addTask {
                for await event in self.leases.events() { self.mailbox.yield(.agent(name: Heartbeat.agentName(of: event.object))) }
            }
            group.addTask {
                for await event in self.agents.events() { self.mailbox.yield(.agent(name: event.object.name)) }
            }
            group.addTask {
                for await leading in self.leadership.changes() { self.mailbox.yield(.leadership(leading)) }
            }
            for await input in inputs {
                switch input {
                case .agent(let name):
                    await judge(name)
                case .timer(let fired):
                    timer.fired(fired)
                    await judgeExpired()
                case .leadership(let leading):
                    defer { wasLeading = leading }
                    // As a follower it withheld its writes: every agent is judged again.
                    if leading, wasLeading == false {
                        for agent in agents.list() { await judge(agent.name) }
                    }
                }
                armTimer()
            }
            group.cancelAll()
        }
        timer.cancel()
        retries.cancelAll()
    }

    /// The heartbeat the monitor holds for the agent.
    public func heartbeat(ofAgent name: String) -> Heartbeat? { heartbeats[name] }

    // MARK: Judging

    /// Judges every agent whose heartbeat, as last seen, has run out.
    private func judgeExpired() async {
        let now = Timestamp(clock.wallTime)
        var due: [String] = []
        while let earliest = expiries.min, earliest.expiresAt < now {
            expiries.removeMin()
            if heartbeats[earliest.agent]?.expiresAt == earliest.expiresAt { due.append(earliest.agent) }
        }
        for name in due { await judge(name) }
    }

    private func judge(_ name: String) async {
        guard let agent = (try? agents.byIndex(Agent.nameIndex, name))?.first else {
            heartbeats[name] = nil
            retries.reset(name)
            return
        }
        // The cache is read again, whatever brought the agent here, so that a timer never judges an agent on a
        // heartbeat that a renewal, not yet delivered as an event, has replaced.
        let leaseKey = "\(agent.namespace ?? "")/\(HeartbeatLease.name(forAgent: name))"
        if let lease = leases.get(leaseKey), let heartbeat = Heartbeat(lease) { note(heartbeat, of: name) }
        let now = Timestamp(clock.wallTime)
        guard let status = HeartbeatJudgement.status(of: agent, heartbeat: heartbeats[name], now: now),
              leadership.permitsWrite(by: .agentHealth)
        else { return }
        await write(status, to: agent)
    }

    private func note(_ heartbeat: Heartbeat, of name: String) {
        guard heartbeats[name] != heartbeat else { return }
        heartbeats[name] = heartbeat
        if !heartbeat.isExpired(at: Timestamp(clock.wallTime)) {
            expiries.insert(Expiry(expiresAt: heartbeat.expiresAt, agent: name))
        }
    }

    /// Writes the status over the cached agent, conditional on its resourceVersion: on a conflict the newer
    /// version's event judges the agent again.
    private func write(_ status: AgentStatus, to agent: Agent) async {
        var updated = agent
        updated.status = status
        do {
            let stored = try await agents.resource.updateStatus(updated)
            statusWrites += 1
            let ready = status.phase == .ready
            events.record(ObjectReference(stored), type: ready ? .normal : .warning,
                          reason: ready ? ControllerEventReason.agentReady : ControllerEventReason.agentNotReady,
                          message: status.conditions[.ready]?.message ?? "")
            retries.reset(agent.name)
            logger.info(status.phase == .ready ? "agent heartbeat renewed; Ready" : "agent heartbeat expired; NotReady", metadata: [
                "agent": "\(agent.name)", "lastHeartbeat": "\(status.lastHeartbeat.map(\.rfc3339) ?? "")",
            ])
        } catch let error as KubeAPIError where error.reason == .conflict || error.reason == .notFound {
            logger.debug("agent changed while judged; judged again on its next event", metadata: ["agent": "\(agent.name)"])
        } catch {
            ControllerMetrics.recordStatusWriteError(writer: "health")
            retryLater(agent.name, after: error)
        }
    }

    private func retryLater(_ name: String, after error: any Error) {
        let mailbox = self.mailbox
        let (failures, delay) = retries.schedule(name, clock: clock) { mailbox.yield(.agent(name: name)) }
        logger.warning("could not write the agent's status; judging it again later", metadata: [
            "agent": "\(name)", "error": "\(error)", "failures": "\(failures)", "delay": "\(delay)",
        ])
    }

    // MARK: The timer

    /// Keeps one timer, for just after the earliest heartbeat still current runs out (expiry is strictly after
    /// `expiresAt`).
    private func armTimer() {
        let mailbox = self.mailbox
        timer.arm(at: expiries.min.map { $0.expiresAt.adding(.nanoseconds(1)) }, now: Timestamp(clock.wallTime), clock: clock) {
            mailbox.yield(.timer($0))
        }
    }
}
