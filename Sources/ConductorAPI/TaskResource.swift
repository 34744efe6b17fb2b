import KubeClient
import KubeJSON

/// An `mcp.io/v1` Task (deploy/crds/tasks.mcp.io.yaml): one unit of work, typically one MCP tool call.
/// Named `TaskResource` because `Task` would shadow Swift concurrency's `Task`.
///
/// Lifecycle: Pending → Assigned (controller: `assignedAgent`, `attempt` + 1) → Running (agent) → Completed
/// or Failed (agent, or the controller for deadlines, cancellation and exhausted budgets). A failed attempt
/// is not the end: the controller sends it back to Pending while retries remain (see `TaskStatus.isFinal`).
public struct TaskResource: SpecAndStatusResource {
    public static let resource = ResourceDescriptor.tasks

    /// The fields, held once and copied on write. Inline they made a value of some 700 bytes, copied whole
    /// into each holder: the informer cache's table (with its empty slots: 1.2 KB a cached task), the task's
    /// actor, every event and every async frame that kept one. Now a holder keeps one reference.
    private var storage: Storage

    public init(metadata: ObjectMeta, spec: TaskSpec = TaskSpec(), status: TaskStatus = TaskStatus()) {
        storage = Storage(apiVersion: ResourceDescriptor.tasks.apiVersion, kind: ResourceDescriptor.tasks.kind,
                          metadata: metadata, spec: spec, status: status)
    }

    public var apiVersion: String {
        _read { yield storage.apiVersion }
        _modify { makeUnique(); yield &storage.apiVersion }
    }

    public var kind: String {
        _read { yield storage.kind }
        _modify { makeUnique(); yield &storage.kind }
    }

    public var metadata: ObjectMeta {
        _read { yield storage.metadata }
        _modify { makeUnique(); yield &storage.metadata }
    }

    public var spec: TaskSpec {
        _read { yield storage.spec }
        _modify { makeUnique(); yield &storage.spec }
    }

    public var status: TaskStatus {
        _read { yield storage.status }
        _modify { makeUnique(); yield &storage.status }
    }

    // `_read` lends the field from the storage (a `get` would copy it out, retaining what it holds); `_modify`
    // makes the storage this value's own first.
    private mutating func makeUnique() {
        if !isKnownUniquelyReferenced(&storage) { storage = storage.copy() }
    }

    /// The fields of one or more equal `TaskResource` values.
    // @unchecked: changed only through `TaskResource`'s accessors, each after `makeUnique()` made the storage its
    // value's own; storage that two values share is never changed, so it is immutable wherever it is shared.
    private final class Storage: @unchecked Sendable {
        var apiVersion: String
        var kind: String
        var metadata: ObjectMeta
        var spec: TaskSpec
        var status: TaskStatus

        init(apiVersion: String, kind: String, metadata: ObjectMeta, spec: TaskSpec, status: TaskStatus) {
            self.apiVersion = apiVersion
            self.kind = kind
            self.metadata = metadata
            self.spec = spec
            self.status = status
        }

        func copy() -> Storage {
            Storage(apiVersion: apiVersion, kind: kind, metadata: metadata, spec: spec, status: status)
        }
    }
}

extension TaskResource: Equatable {
    public static func == (lhs: TaskResource, rhs: TaskResource) -> Bool {
        lhs.storage === rhs.storage
            || (lhs.apiVersion == rhs.apiVersion && lhs.kind == rhs.kind && lhs.metadata == rhs.metadata
                && lhs.spec == rhs.spec && lhs.status == rhs.status)
    }
}

// Written out (the storage hides the fields from synthesis) as synthesis wrote it: every key in this order,
// apiVersion and kind required, an absent or null spec or status read as empty and an empty one left out.
extension TaskResource: Codable {
    private enum CodingKeys: String, CodingKey {
        case apiVersion, kind, metadata, spec, status
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        storage = Storage(
            apiVersion: try container.decode(String.self, forKey: .apiVersion),
            kind: try container.decode(String.self, forKey: .kind),
            metadata: try container.decode(ObjectMeta.self, forKey: .metadata),
            spec: try container.decode(OmitEmpty<TaskSpec>.self, forKey: .spec).wrappedValue,
            status: try container.decode(OmitEmpty<TaskStatus>.self, forKey: .status).wrappedValue)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(apiVersion, forKey: .apiVersion)
        try container.encode(kind, forKey: .kind)
        try container.encode(metadata, forKey: .metadata)
        try container.encode(OmitEmpty(wrappedValue: spec), forKey: .spec)
        try container.encode(OmitEmpty(wrappedValue: status), forKey: .status)
    }
}

/// What a task needs and how it is run; written by the submitter.
public struct TaskSpec: EmptyDefaultable, Sendable {
    /// Only an agent offering every one of these can be assigned the task.
    @OmitEmpty public var requiredCapabilities: [String]
    /// 1 to 10, higher is more urgent; nil means `Defaults.priority`.
    public var priority: Int?
    /// The task's input (for a tool call, its arguments), passed to the agent as it is. A JSON object, at
    /// most `Limits.maximumPayloadBytes`.
    public var payload: JSON?
    /// Past it the task is Failed with `Reason.deadlineExceeded`.
    public var deadline: Timestamp?
    /// nil means the defaults (`RetryPolicy.default`).
    public var retryPolicy: RetryPolicy?
    /// What the task needs of its agent.
    public var resources: ComputeResources?
    /// Placement on the agents' tags.
    public var affinity: TaskAffinity?
    /// A cancellation request: when true, a task not yet finished is stopped and ends Failed (`Reason.cancelled`).
    public var cancel: Bool?
    /// A second submission with the same key in the same namespace returns the existing task. At most 253 characters.
    public var idempotencyKey: String?
    /// Seconds after the task finished when the controller deletes it (0: at once); nil means the controller's
    /// default. At most `Limits.maximumFinishedTaskTTLSeconds`.
    public var ttlSecondsAfterFinished: Int?

    public init(requiredCapabilities: [String] = [], priority: Int? = nil, payload: JSON? = nil, deadline: Timestamp? = nil,
                retryPolicy: RetryPolicy? = nil, resources: ComputeResources? = nil, affinity: TaskAffinity? = nil,
                cancel: Bool? = nil, idempotencyKey: String? = nil, ttlSecondsAfterFinished: Int? = nil) {
        self.requiredCapabilities = requiredCapabilities
        self.priority = priority
        self.payload = payload
        self.deadline = deadline
        self.retryPolicy = retryPolicy
        self.resources = resources
        self.affinity = affinity
        self.cancel = cancel
        self.idempotencyKey = idempotencyKey
        self.ttlSecondsAfterFinished = ttlSecondsAfterFinished
    }

    public init() { self.init(requiredCapabilities: []) }

    public var isEmpty: Bool { self == TaskSpec() }

    /// `priority`, or `Defaults.priority` when unset.
    public var effectivePriority: Int { priority ?? Defaults.priority }

    /// `retryPolicy` with the CRD's defaults filled in. (The server defaults the policy's fields only when the
    /// policy is present, so an absent policy is defaulted here.)
    public var effectiveRetryPolicy: RetryPolicy {
        RetryPolicy(maxRetries: retryPolicy?.maxRetries ?? RetryPolicy.defaultMaxRetries,
                    backoffStrategy: retryPolicy?.backoffStrategy ?? RetryPolicy.defaultBackoffStrategy)
    }

    /// `cancel`, false when unset.
    public var isCancelRequested: Bool { cancel ?? false }
}

/// How a failed attempt is retried.
public struct RetryPolicy: Codable, Sendable, Hashable {
    public static let defaultMaxRetries = 3
    public static let defaultBackoffStrategy = BackoffStrategy.exponential
    /// The CRD's defaults.
    public static let `default` = RetryPolicy(maxRetries: defaultMaxRetries, backoffStrategy: defaultBackoffStrategy)

    /// Retries after failed attempts; attempts lost with their agent have a separate budget. At least 0.
    public var maxRetries: Int?
    public var backoffStrategy: BackoffStrategy?

    public init(maxRetries: Int? = nil, backoffStrategy: BackoffStrategy? = nil) {
        self.maxRetries = maxRetries
        self.backoffStrategy = backoffStrategy
    }
}

/// The wait before a retry grows linearly or exponentially with the retries spent, up to a cap.
public enum BackoffStrategy: String, Codable, Sendable, Hashable, CaseIterable {
    case linear
    case exponential
}

/// Placement constraints and preferences on agents' tags.
public struct TaskAffinity: Codable, Sendable, Hashable {
    /// An agent must have all of these.
    @OmitEmpty public var required: [String]
    /// Each of these an agent has makes it more likely to be chosen.
    @OmitEmpty public var preferred: [String]
    /// An agent with any of these is not chosen.
    @OmitEmpty public var avoided: [String]

    public init(required: [String] = [], preferred: [String] = [], avoided: [String] = []) {
        self.required = required
        self.preferred = preferred
        self.avoided = avoided
    }
}

/// What happened to a task; written by the controller and by the assigned agent.
public struct TaskStatus: EmptyDefaultable, Sendable {
    /// nil means not yet seen by the controller, which treats it as Pending.
    public var phase: TaskPhase?
    public var assignedAgent: String?
    /// When the current attempt started running.
    public var startTime: Timestamp?
    /// When the task reached Completed or Failed.
    public var completionTime: Timestamp?
    /// The agent's result, a JSON object of at most `Limits.maximumResultBytes`.
    public var result: JSON?
    /// Raised at each assignment: the fencing token. An agent's write counts only for the attempt it was given.
    public var attempt: Int?
    /// Retries spent after failed attempts (bounded by `spec.retryPolicy.maxRetries`).
    public var retries: Int?
    /// Times the task went back to Pending because its agent was lost (bounded by `Defaults.maxAgentLossRetries`).
    public var agentLossRetries: Int?
    /// A retried task is not assigned before this (its backoff).
    public var nextAttemptTime: Timestamp?
    public var progress: TaskProgress?
    /// Why the task is in its phase, notably why it failed: a `Reason` constant or the agent's own.
    public var reason: Reason?
    /// Details for people about the phase or the error.
    public var message: String?
    /// The `metadata.generation` this status reflects.
    public var observedGeneration: Int?
    /// `ConditionType.scheduled`, `.running`, `.complete`, `.failed`.
    @OmitEmpty public var conditions: [Condition]

    public init(phase: TaskPhase? = nil, assignedAgent: String? = nil, startTime: Timestamp? = nil, completionTime: Timestamp? = nil,
                result: JSON? = nil, attempt: Int? = nil, retries: Int? = nil, agentLossRetries: Int? = nil,
                nextAttemptTime: Timestamp? = nil, progress: TaskProgress? = nil, reason: Reason? = nil, message: String? = nil,
                observedGeneration: Int? = nil, conditions: [Condition] = []) {
        self.phase = phase
        self.assignedAgent = assignedAgent
        self.startTime = startTime
        self.completionTime = completionTime
        self.result = result
        self.attempt = attempt
        self.retries = retries
        self.agentLossRetries = agentLossRetries
        self.nextAttemptTime = nextAttemptTime
        self.progress = progress
        self.reason = reason
        self.message = message
        self.observedGeneration = observedGeneration
        self.conditions = conditions
    }

    public init() { self.init(phase: nil) }

    public var isEmpty: Bool { self == TaskStatus() }

    /// `phase`, Pending when unset (a task the controller has not written yet).
    public var effectivePhase: TaskPhase { phase ?? .pending }

    /// Whether nothing will move the task again, so that its waiters can be answered: Completed, or Failed
    /// with a reason that is not retried (`Reason.finalFailures`). An agent reports a failed attempt as Failed
    /// with `Reason.executionFailed` or its own reason; the controller then either sends it back to Pending
    /// (`Reason.retryBackoff`) or makes it final with `Reason.retriesExhausted`, setting the Failed condition.
    public var isFinal: Bool {
        switch phase {
        case .completed: true
        case .failed: reason.map(Reason.finalFailures.contains) ?? false
        default: false
        }
    }
}

/// The progress of the running attempt, as the agent reports it.
public struct TaskProgress: Codable, Sendable, Hashable {
    /// Work done so far, in the unit of `total`.
    public var current: Double?
    /// The total amount of work, when known.
    public var total: Double?
    /// The current step, for people.
    public var message: String?

    public init(current: Double? = nil, total: Double? = nil, message: String? = nil) {
        self.current = current
        self.total = total
        self.message = message
    }
}

/// A task's execution phase (`status.phase`).
public enum TaskPhase: String, Codable, Sendable, Hashable, CaseIterable {
    /// Waiting for an agent (new, backing off, or back after its agent was lost).
    case pending = "Pending"
    /// Given to an agent, which has not started it yet.
    case assigned = "Assigned"
    /// The agent is executing it.
    case running = "Running"
    /// Finished successfully: final.
    case completed = "Completed"
    /// The attempt, or the task, ended unsuccessfully (`status.reason` says why). Final only with one of
    /// `Reason.finalFailures`; otherwise the controller retries it (`TaskStatus.isFinal`).
    case failed = "Failed"

    /// Assigned or Running: the task holds a slot of its agent.
    public var holdsAgent: Bool { self == .assigned || self == .running }
}
