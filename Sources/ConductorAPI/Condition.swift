/// One aspect of an Agent's or Task's state (metav1.Condition): the items of `status.conditions`, at most one
/// per type.
public struct Condition: Codable, Sendable, Hashable {
    public var type: ConditionType
    public var status: ConditionStatus
    /// The `metadata.generation` the condition was set from.
    public var observedGeneration: Int?
    /// When `status` last changed; kept when only the reason or message change.
    public var lastTransitionTime: Timestamp?
    public var reason: Reason?
    public var message: String?

    public init(type: ConditionType, status: ConditionStatus, reason: Reason? = nil, message: String? = nil,
                observedGeneration: Int? = nil, lastTransitionTime: Timestamp? = nil) {
        self.type = type
        self.status = status
        self.reason = reason
        self.message = message
        self.observedGeneration = observedGeneration
        self.lastTransitionTime = lastTransitionTime
    }
}

/// A string-valued name from an open set (a condition type, a reason): written as its plain string, and any
/// string decodes, so that values written by newer versions or by agents are kept rather than refused.
public protocol OpenStringValue: RawRepresentable, Codable, Sendable, Hashable, ExpressibleByStringLiteral, CustomStringConvertible
where RawValue == String {
    init(rawValue: String)
}

extension OpenStringValue {
    public init(stringLiteral value: String) { self.init(rawValue: value) }
    public var description: String { rawValue }
}

/// True, False or Unknown, as the CRD's enum has them.
public enum ConditionStatus: String, Codable, Sendable, Hashable, CaseIterable {
    case `true` = "True"
    case `false` = "False"
    case unknown = "Unknown"
}

/// A condition's type. Open, as in Kubernetes: a condition written by someone else decodes too, and the
/// known types are constants.
public struct ConditionType: OpenStringValue {
    public var rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }

    // MARK: Agent conditions

    /// Agent: True while its heartbeat Lease is renewed in time (reason `HeartbeatRenewed`), False once it
    /// expired (`HeartbeatExpired`), Unknown before the first heartbeat (`Registered`).
    public static let ready: ConditionType = "Ready"
    /// Agent: True while `spec.draining` is set: it finishes its tasks and takes no new ones (`DrainRequested`).
    public static let draining: ConditionType = "Draining"

    // MARK: Task conditions

    /// Task: True once assigned (`Assigned`). False while Pending with why: one of `Reason.unschedulable`,
    /// `RetryBackoff` after a failed attempt, `AgentLost` after its agent died.
    public static let scheduled: ConditionType = "Scheduled"
    /// Task: True while the agent runs the current attempt (`Started`); False after it stopped.
    public static let running: ConditionType = "Running"
    /// Task: True when the task finished successfully (`Succeeded`).
    public static let complete: ConditionType = "Complete"
    /// Task: True once the task failed for good, with the reason (one of `Reason.finalFailures`). Set by the
    /// controller when it decides not to retry.
    public static let failed: ConditionType = "Failed"
}

/// A CamelCase reason: of a condition, and of a task's phase (`status.reason`). Open like `ConditionType`,
/// so that an agent's own reasons decode; the ones the conductor writes are these constants.
public struct Reason: OpenStringValue {
    public var rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }

    // MARK: Agent

    /// The agent registered and has not yet sent a heartbeat.
    public static let registered: Reason = "Registered"
    /// The agent's heartbeat Lease was renewed within its duration.
    public static let heartbeatRenewed: Reason = "HeartbeatRenewed"
    /// The agent's heartbeat Lease expired: the agent is NotReady and its tasks go back to Pending.
    public static let heartbeatExpired: Reason = "HeartbeatExpired"
    /// `spec.draining` is set.
    public static let drainRequested: Reason = "DrainRequested"

    // MARK: Task, while Pending: why it has no agent (Scheduled=False). The scheduler's filter, in order.

    /// No agent, in any state, offers every required capability.
    public static let noAgentWithCapability: Reason = "NoAgentWithCapability"
    /// Agents offer every required capability, but none of them is Ready and not draining: the fix is to bring
    /// agents back, not to add capacity.
    public static let noReadyAgent: Reason = "NoReadyAgent"
    /// Agents with the capabilities exist, but none has the required tags (or each has an avoided one).
    public static let tagsNotMatched: Reason = "TagsNotMatched"
    /// Agents with the capabilities and tags exist, but none has the CPU, memory or GPU the task asks for.
    public static let insufficientResources: Reason = "InsufficientResources"
    /// Suitable agents exist, but every one is draining or has `maxConcurrentTasks` tasks already.
    public static let allAgentsBusy: Reason = "AllAgentsBusy"
    /// The reasons a task cannot be scheduled now, each of which may change without the task changing.
    public static let unschedulable: Set<Reason> = [
        .noAgentWithCapability, .noReadyAgent, .tagsNotMatched, .insufficientResources, .allAgentsBusy,
    ]

    /// A failed attempt is waiting out its backoff until `status.nextAttemptTime`.
    public static let retryBackoff: Reason = "RetryBackoff"
    /// The task's agent was lost (its heartbeat expired) while it held the task: back to Pending, counted in
    /// `status.agentLossRetries`.
    public static let agentLost: Reason = "AgentLost"

    // MARK: Task, while Assigned or Running

    /// The scheduler assigned the task to an agent (Scheduled=True).
    public static let assigned: Reason = "Assigned"
    /// The agent started the current attempt (Running=True).
    public static let started: Reason = "Started"

    // MARK: Task, finished

    /// The agent finished the task successfully (Complete=True, phase Completed).
    public static let succeeded: Reason = "Succeeded"
    /// The agent reports a failed attempt (phase Failed; the message says why). Not final: the controller
    /// retries it while `retryPolicy.maxRetries` allows, and ends it with `retriesExhausted` after that.
    /// An agent may use its own reason instead; it is treated the same.
    public static let executionFailed: Reason = "ExecutionFailed"

    // MARK: Task, failed for good (the Failed condition True): never retried
    /// The task's `spec.cancel` was set before it finished.
    public static let cancelled: Reason = "Cancelled"
    /// `spec.deadline` passed before the task finished.
    public static let deadlineExceeded: Reason = "DeadlineExceeded"
    /// An attempt failed and `spec.retryPolicy.maxRetries` retries were already spent.
    public static let retriesExhausted: Reason = "RetriesExhausted"
    /// Agents were lost while holding the task more often than the agent-loss budget allows.
    public static let agentLossRetriesExhausted: Reason = "AgentLossRetriesExhausted"
    /// The agent's result is above `Limits.maximumResultBytes`: another attempt would not be smaller.
    public static let resultTooLarge: Reason = "ResultTooLarge"
    /// The spec cannot be run as written (for example a resource quantity that does not parse).
    public static let invalidSpec: Reason = "InvalidSpec"
    /// The agent's executor refused the task as it is (an HTTP executor's endpoint answered 4xx): another
    /// attempt would be refused too.
    public static let rejected: Reason = "Rejected"

    /// The reasons a task is Failed for good with: a Failed task with another reason is an attempt to retry.
    public static let finalFailures: Set<Reason> = [
        .cancelled, .deadlineExceeded, .retriesExhausted, .agentLossRetriesExhausted, .resultTooLarge, .invalidSpec, .rejected,
    ]
}

extension Array where Element == Condition {
    /// The condition of this type, if any.
    public subscript(type: ConditionType) -> Condition? {
        first { $0.type == type }
    }

    /// Whether the condition of this type is present and True.
    public func isTrue(_ type: ConditionType) -> Bool {
        self[type]?.status == .true
    }

    /// Sets the condition of `condition.type`, as apimachinery's `meta.SetStatusCondition`: a new type is
    /// added; an existing one takes the new status, reason, message and observed generation, and its
    /// `lastTransitionTime` changes only when its status does (to the new condition's, or `now`).
    /// Returns whether anything changed, so that the caller writes the status only then.
    @discardableResult
    public mutating func set(_ condition: Condition, now: Timestamp = .now()) -> Bool {
        guard let index = firstIndex(where: { $0.type == condition.type }) else {
            var added = condition
            added.lastTransitionTime = condition.lastTransitionTime ?? now
            append(added)
            return true
        }
        var updated = self[index]
        if updated.status != condition.status {
            updated.status = condition.status
            updated.lastTransitionTime = condition.lastTransitionTime ?? now
        }
        updated.reason = condition.reason
        updated.message = condition.message
        updated.observedGeneration = condition.observedGeneration
        guard updated != self[index] else { return false }
        self[index] = updated
        return true
    }

    /// Sets the condition `type` to `status` with `reason` and `message` (see `set(_:now:)`).
    @discardableResult
    public mutating func set(_ type: ConditionType, _ status: ConditionStatus, reason: Reason, message: String? = nil,
                             observedGeneration: Int? = nil, now: Timestamp = .now()) -> Bool {
        set(Condition(type: type, status: status, reason: reason, message: message, observedGeneration: observedGeneration), now: now)
    }

    /// Removes the condition of this type; returns whether there was one.
    @discardableResult
    public mutating func remove(_ type: ConditionType) -> Bool {
        let before = count
        removeAll { $0.type == type }
        return count != before
    }
}
