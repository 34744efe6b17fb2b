/// The faults `loadtest chaos` injects.
enum FaultKind: String, CaseIterable, Sendable {
    /// SIGKILL an agent, preferably one running tasks; started again after a moment under the same name.
    case agent
    /// SIGKILL the replica holding the leader-election Lease; started again after a moment.
    case leader
    /// SIGKILL the API server; started again on the same data directory and port.
    case apiserver
    /// SIGSTOP an agent for a few seconds, then SIGCONT: a stalled process whose heartbeat may expire meanwhile.
    case stall

    /// What its recovery time measures.
    var recoveryMeasure: String {
        switch self {
        case .agent, .stall: "fault → the last task it held reassigned (a new attempt) or final"
        case .leader: "kill → first assignment after a live replica renewed the leader Lease"
        case .apiserver: "kill → first assignment after the restarted server accepts connections"
        }
    }
}

/// One injected fault, with the times its recovery is computed from (all on the harness's monotonic clock).
struct FaultRecord: Sendable {
    var kind: FaultKind
    /// The process: an agent's name, a replica's identity, or "apiserver".
    var target: String
    /// SIGKILL or SIGSTOP sent.
    var at: ContinuousClock.Instant
    /// Started again, or SIGCONT sent.
    var restartedAt: ContinuousClock.Instant?
    /// leader: a live replica renewed the Lease; apiserver: the restarted server accepts connections.
    var upAt: ContinuousClock.Instant?
    /// agent, stall: the attempts the agent held at the fault.
    var held: [ChaosTracker.HeldAttempt] = []
    var note: String?

    /// The recovery time, from what the tracker saw; nil when it did not recover (or, for an agent that held
    /// nothing, when there was nothing to recover).
    func recovery(_ tracker: ChaosTracker) -> Duration? {
        switch kind {
        case .agent, .stall:
            guard !held.isEmpty else { return nil }
            var last = at
            for attempt in held {
                guard let moved = tracker.movedOn(from: attempt) else { return nil }
                last = max(last, moved)
            }
            return last - at
        case .leader, .apiserver:
            guard let upAt, let assigned = tracker.firstAssignment(atOrAfter: upAt) else { return nil }
            return assigned - at
        }
    }

    /// leader: kill → a live replica renewed the Lease; apiserver: kill → accepting connections again.
    var downtime: Duration? { upAt.map { $0 - at } }
}
