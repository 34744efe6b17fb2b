import ConductorAPI
import KubeClient

/// An agent's latest heartbeat, read from its Lease: when it was renewed and until when that counts.
public struct Heartbeat: Sendable, Hashable {
    /// namespace/name of the Lease.
    public var lease: String
    public var renewTime: Timestamp
    /// `renewTime` plus the Lease's `leaseDurationSeconds`: the agent is presumed dead once this has passed.
    public var expiresAt: Timestamp

    public init(lease: String, renewTime: Timestamp, expiresAt: Timestamp) {
        self.lease = lease
        self.renewTime = renewTime
        self.expiresAt = expiresAt
    }

    /// The Lease's heartbeat; nil when it was never renewed (no `renewTime`, or one that does not parse).
    /// A Lease without a duration counts for `HeartbeatLease.defaultDurationSeconds`.
    public init?(_ lease: Lease) {
        guard let text = lease.spec?.renewTime, let renewTime = try? Timestamp(rfc3339: text) else { return nil }
        let seconds = lease.spec?.leaseDurationSeconds ?? HeartbeatLease.defaultDurationSeconds
        self.init(lease: lease.key, renewTime: renewTime, expiresAt: renewTime.adding(.seconds(seconds)))
    }

    /// Expired once `now` is past `expiresAt` (renewTime + leaseDurationSeconds < now).
    public func isExpired(at now: Timestamp) -> Bool {
        expiresAt < now
    }

    /// The agent whose heartbeat the Lease is: its `Labels.agent` label, else its name
    /// (`HeartbeatLease.name(forAgent:)` is the agent's own name).
    public static func agentName(of lease: Lease) -> String {
        lease.labels[Labels.agent] ?? lease.name
    }
}

/// What the health monitor makes of an agent's heartbeat: pure, with the time passed in.
public enum HeartbeatJudgement {
    /// The agent's status after judging its heartbeat at `now`, or nil when nothing is to be written:
    /// - expired: NotReady, Ready=False (`HeartbeatExpired`), unless it says so already;
    /// - renewed in time: Ready, Ready=True (`HeartbeatRenewed`), when the agent is NotReady because its
    ///   heartbeat had expired, or has no phase yet (its first heartbeat). An agent that declared itself
    ///   NotReady for another reason stays so: a heartbeat says it is alive, not that it is able.
    /// An agent without a heartbeat is not judged: it has not started its Lease yet.
    public static func status(of agent: Agent, heartbeat: Heartbeat?, now: Timestamp) -> AgentStatus? {
        guard let heartbeat else { return nil }
        var status = agent.status
        let ready = status.conditions[.ready]
        let generation = agent.metadata.generation.map(Int.init)
        if heartbeat.isExpired(at: now) {
            if status.phase == .notReady, ready?.status == .false, ready?.reason == .heartbeatExpired { return nil }
            status.phase = .notReady
            status.conditions.set(.ready, .false, reason: .heartbeatExpired,
                                  message: "the heartbeat Lease \(heartbeat.lease) was last renewed at \(heartbeat.renewTime) and expired at \(heartbeat.expiresAt)",
                                  observedGeneration: generation, now: now)
        } else {
            let expiredBefore = status.phase == .notReady && ready?.reason == .heartbeatExpired
            let firstHeartbeat = status.phase == nil || status.phase == .unknown
            guard expiredBefore || firstHeartbeat else { return nil }
            status.phase = .ready
            status.conditions.set(.ready, .true, reason: .heartbeatRenewed,
                                  message: "the heartbeat Lease \(heartbeat.lease) was renewed at \(heartbeat.renewTime)",
                                  observedGeneration: generation, now: now)
        }
        status.lastHeartbeat = Timestamp(secondsSinceEpoch: heartbeat.renewTime.secondsSinceEpoch)
        return status
    }
}
