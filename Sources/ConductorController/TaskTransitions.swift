import ConductorAPI

/// The status each controller action leads to, pure like the policy. `attempt` is never changed here: it is
/// the fencing token and rises only with an assignment (`assigned(_:to:now:)`).
public enum TaskTransitions {
    /// The status after `action`, or nil when the action writes nothing (`.none`, `.offer`).
    public static func status(after action: TaskAction, from task: TaskResource, now: Timestamp) -> TaskStatus? {
        var status = task.status
        let generation = task.metadata.generation.map(Int.init)
        switch action {
        case .none, .offer:
            return nil
        case .retry(let retries, let nextAttemptTime, let backoff):
            status.returnToPending(reason: .retryBackoff, now: now, generation: generation,
                                   message: "attempt \(status.attempt ?? 0) failed (\(status.reason?.rawValue ?? "no reason")); retry \(retries) after \(backoff)")
            status.retries = retries
            status.nextAttemptTime = nextAttemptTime
        case .requeueAfterAgentLoss(let agent, let agentLossRetries):
            status.returnToPending(reason: .agentLost, now: now, generation: generation,
                                   message: "agent \(agent) was lost while it held attempt \(status.attempt ?? 0)")
            status.agentLossRetries = agentLossRetries
            status.nextAttemptTime = nil
        case .fail(let reason, let message):
            // The assigned agent is kept: it is where the attempt ran, and an agent still working on a
            // cancelled task sees the final phase on the task it watches.
            status.phase = .failed
            status.reason = reason
            status.message = message
            status.completionTime = now
            status.nextAttemptTime = nil
            status.observedGeneration = generation
            if status.conditions.isTrue(.running) {
                status.conditions.set(.running, .false, reason: reason, message: message, observedGeneration: generation, now: now)
            }
            status.conditions.set(.failed, .true, reason: reason, message: message, observedGeneration: generation, now: now)
        }
        return status
    }

    /// The status of `task` assigned to `agent`: the next attempt, whose number is the token that agent's
    /// writes must carry. The one place the attempt rises.
    public static func assigned(_ task: TaskResource, to agent: String, now: Timestamp) -> TaskStatus {
        var status = task.status
        status.phase = .assigned
        status.assignedAgent = agent
        status.attempt = (status.attempt ?? 0) + 1
        status.reason = .assigned
        status.message = "attempt \(status.attempt ?? 1) assigned to \(agent)"
        status.nextAttemptTime = nil
        status.startTime = nil
        status.observedGeneration = task.metadata.generation.map(Int.init)
        status.conditions.set(.scheduled, .true, reason: .assigned, message: status.message,
                              observedGeneration: status.observedGeneration, now: now)
        return status
    }

    /// The status of a Pending task that no agent can take now, saying why: Scheduled=False with `reason`
    /// (one of `Reason.unschedulable`). Nil when the task says so already, so that the scheduler, which looks at
    /// a waiting task on every change of the agents that might take it, writes only when the reason changes.
    public static func unschedulable(_ task: TaskResource, reason: Reason, message: String, now: Timestamp) -> TaskStatus? {
        if let scheduled = task.status.conditions[.scheduled], scheduled.status == .false, scheduled.reason == reason,
           task.status.reason == reason {
            return nil
        }
        var status = task.status
        let generation = task.metadata.generation.map(Int.init)
        status.phase = .pending
        status.reason = reason
        status.message = message
        status.observedGeneration = generation
        status.conditions.set(.scheduled, .false, reason: reason, message: message, observedGeneration: generation, now: now)
        return status
    }
}

extension TaskStatus {
    /// Pending again with no agent: what the last attempt left (start time, running condition) is cleared,
    /// and Scheduled=False says why.
    fileprivate mutating func returnToPending(reason: Reason, now: Timestamp, generation: Int?, message: String) {
        phase = .pending
        assignedAgent = nil
        startTime = nil
        self.reason = reason
        self.message = message
        observedGeneration = generation
        if conditions.isTrue(.running) {
            conditions.set(.running, .false, reason: reason, message: message, observedGeneration: generation, now: now)
        }
        conditions.set(.scheduled, .false, reason: reason, message: message, observedGeneration: generation, now: now)
    }
}

extension TaskStatusWriting {
    /// Assigns `read` to `agent`, raising the attempt: the scheduler's write.
    public func assign(_ read: TaskResource, to agent: String, now: Timestamp) async throws(TaskWriteError) -> TaskWriteOutcome {
        let status = TaskTransitions.assigned(read, to: agent, now: now)
        return try await write(status, over: read, holding: status.attempt)
    }
}
