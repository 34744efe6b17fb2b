import ConductorAPI
import ConductorAgent
import KubeJSON

/// One attempt as an executor sees it.
public struct ExecutionRequest: Sendable {
    public var task: TaskResource
    public var capability: String
    /// When the attempt must end: the earlier of the task's deadline and the capability's timeout, as the
    /// continuous clock counts (the wall clock may jump).
    public var deadline: ContinuousClock.Instant?
    /// What the deadline is, for messages: "the task's deadline" or "the capability's timeout of 30s".
    public var deadlineOrigin: String

    public init(task: TaskResource, capability: String, deadline: ContinuousClock.Instant?, deadlineOrigin: String) {
        self.task = task
        self.capability = capability
        self.deadline = deadline
        self.deadlineOrigin = deadlineOrigin
    }

    public var payload: JSON { task.spec.payload ?? .object([:]) }
    public var attempt: Int { task.status.attempt ?? 0 }
}

/// Runs a capability's tasks: returns the result, or throws (an `ExecutionError`, or `CancellationError`
/// when the task is cancelled). Cancelled when the task is cancelled or taken from the agent; it must then
/// stop its work and return soon.
public protocol TaskExecutor: Sendable {
    func execute(_ request: ExecutionRequest, progress: ProgressReporter) async throws -> JSON
}
