import ConductorAPI

/// How long a failed attempt waits before its retry: linear (`base` × n) or exponential (`base` × 2^(n-1))
/// in the retry number n (1 for the first retry), never more than `cap`.
public struct RetryBackoff: Sendable, Hashable {
    public var base: Duration
    public var cap: Duration

    public init(base: Duration = .seconds(1), cap: Duration = .seconds(300)) {
        self.base = base
        self.cap = cap
    }

    /// The wait before retry number `retry` (1-based; below 1 counts as 1).
    public func delay(forRetry retry: Int, strategy: BackoffStrategy) -> Duration {
        let n = max(retry, 1)
        switch strategy {
        case .linear:
            // Compared before multiplying, so that a huge retry count cannot overflow the Duration.
            guard base > .zero, Double(n) < cap / base else { return base > .zero ? cap : .zero }
            return base * n
        case .exponential:
            guard base > .zero else { return .zero }
            var delay = base
            for _ in 1..<n {
                delay *= 2
                if delay >= cap { return cap }
            }
            return min(delay, cap)
        }
    }
}

/// What the controller must do about a task now: the result of `TaskLifecyclePolicy.decide`.
public enum TaskAction: Sendable, Hashable {
    /// Nothing now (the task is with its agent, waiting out a backoff, or final).
    case none
    /// Pending and not backing off: the scheduler may assign it now.
    case offer
    /// The attempt failed with retries left: back to Pending, not assigned before `nextAttemptTime`.
    case retry(retries: Int, nextAttemptTime: Timestamp, backoff: Duration)
    /// Its agent was lost with budget left: back to Pending at once, the loss counted.
    case requeueAfterAgentLoss(agent: String, agentLossRetries: Int)
    /// Failed for good with one of `Reason.finalFailures`.
    case fail(reason: Reason, message: String)
}

/// The policy's answer: the action, and when the task needs looking at again if nothing about it changes
/// (its backoff ends or its deadline passes), so that a timer is armed rather than the task polled.
public struct TaskDecision: Sendable, Hashable {
    public var action: TaskAction
    /// nil: only a change of the task (or of its agent) can make it need attention.
    public var nextAttention: Timestamp?

    public init(action: TaskAction, nextAttention: Timestamp?) {
        self.action = action
        self.nextAttention = nextAttention
    }
}

/// The task lifecycle's decisions, pure: the same task, agent health and time give the same answer. Time is
/// passed in and never read here, so that every branch is tested with exact instants.
///
/// Precedence, first match wins: final → nothing; cancel requested → Cancelled; deadline passed →
/// DeadlineExceeded; failed attempt → retry or RetriesExhausted; held by a lost agent → requeue or
/// AgentLossRetriesExhausted; Pending past its backoff → offer. Cancellation and deadline come first because
/// they end the task whatever its phase, including a failed attempt that would otherwise be retried.
public struct TaskLifecyclePolicy: Sendable, Hashable {
    public var backoff: RetryBackoff
    /// Returns to Pending after agent loss allowed before the task fails; separate from `maxRetries`.
    public var maxAgentLossRetries: Int

    public init(backoff: RetryBackoff = RetryBackoff(), maxAgentLossRetries: Int = Defaults.maxAgentLossRetries) {
        self.backoff = backoff
        self.maxAgentLossRetries = maxAgentLossRetries
    }

    /// - Parameter lostAgents: names of the agents that are NotReady now.
    public func decide(_ task: TaskResource, now: Timestamp, lostAgents: Set<String>) -> TaskDecision {
        let status = task.status
        if status.isFinal { return TaskDecision(action: .none, nextAttention: nil) }
        let action = self.action(for: task, now: now, lostAgents: lostAgents)
        return TaskDecision(action: action, nextAttention: nextAttention(for: task, after: action, now: now))
    }

    private func action(for task: TaskResource, now: Timestamp, lostAgents: Set<String>) -> TaskAction {
        let status = task.status
        let phase = status.effectivePhase
        if task.spec.isCancelRequested {
            return .fail(reason: .cancelled, message: "cancelled at the submitter's request while \(phase.rawValue)")
        }
        if let deadline = task.spec.deadline, now >= deadline {
            return .fail(reason: .deadlineExceeded, message: "the deadline \(deadline) passed while \(phase.rawValue)")
        }
        switch phase {
        case .failed where status.reason == .agentLost:
            // The agent came back without the attempt (it restarted): an agent lost, not an attempt failed.
            return requeueOrFail(status, lostAgent: status.assignedAgent ?? "the agent")
        case .failed:
            let policy = task.spec.effectiveRetryPolicy
            let spent = status.retries ?? 0
            let allowed = policy.maxRetries ?? RetryPolicy.defaultMaxRetries
            guard spent < allowed else {
                return .fail(reason: .retriesExhausted,
                             message: "attempt \(status.attempt ?? 0) failed (\(status.reason?.rawValue ?? "no reason")) and all \(allowed) retries are spent")
            }
            let delay = backoff.delay(forRetry: spent + 1, strategy: policy.backoffStrategy ?? RetryPolicy.defaultBackoffStrategy)
            return .retry(retries: spent + 1, nextAttemptTime: now.adding(delay), backoff: delay)
        case .assigned, .running:
            guard let agent = status.assignedAgent, lostAgents.contains(agent) else { return .none }
            return requeueOrFail(status, lostAgent: agent)
        case .pending:
            if let next = status.nextAttemptTime, now < next { return .none }
            return .offer
        case .completed:
            return .none
        }
    }

    /// Back to Pending after its agent was lost, while the agent-loss budget lasts.
    private func requeueOrFail(_ status: TaskStatus, lostAgent agent: String) -> TaskAction {
        let lost = status.agentLossRetries ?? 0
        guard lost < maxAgentLossRetries else {
            return .fail(reason: .agentLossRetriesExhausted,
                         message: "agent \(agent) was lost and the task already lost \(lost) agents (at most \(maxAgentLossRetries))")
        }
        return .requeueAfterAgentLoss(agent: agent, agentLossRetries: lost + 1)
    }

    /// The earlier of the deadline and the end of the backoff the task will be waiting out once `action`
    /// is applied; nil when the task is final after it.
    private func nextAttention(for task: TaskResource, after action: TaskAction, now: Timestamp) -> Timestamp? {
        let backoffEnd: Timestamp?
        switch action {
        case .fail: return nil
        case .retry(_, let next, _): backoffEnd = next
        case .requeueAfterAgentLoss, .offer: backoffEnd = nil
        case .none:
            backoffEnd = task.status.effectivePhase == .pending ? task.status.nextAttemptTime.flatMap { $0 > now ? $0 : nil } : nil
        }
        return [backoffEnd, task.spec.deadline].compactMap { $0 }.min()
    }
}
