import KubeClient
import KubeJSON

extension ResourceDescriptor {
    /// `mcp.io/v1` agents (namespaced).
    public static let agents = ResourceDescriptor(group: APIGroup.name, version: APIGroup.version, plural: "agents", kind: "Agent", namespaced: true)
    /// `mcp.io/v1` tasks (namespaced).
    public static let tasks = ResourceDescriptor(group: APIGroup.name, version: APIGroup.version, plural: "tasks", kind: "Task", namespaced: true)
}

/// The API group of the conductor's resources.
public enum APIGroup {
    public static let name = "mcp.io"
    public static let version = "v1"
}

/// Label keys the conductor writes and selects on.
public enum Labels {
    /// On a Task: the name of the agent it is assigned to, for API servers older than 1.31, which cannot
    /// select custom resources by `status.assignedAgent` (`selectableFields`). A status write cannot change
    /// labels, so the controller sets it with a write of the task's metadata after the assignment, and removes
    /// it when the task goes back to Pending. Label values hold at most 63 characters: agents named after their
    /// pod fit.
    public static let assignedAgent = "mcp.io/assigned-agent"
    /// On an agent's heartbeat Lease: the agent's name.
    public static let agent = "mcp.io/agent"
    /// On everything of the conductor (`app.kubernetes.io/name`), with `nameValue`.
    public static let name = "app.kubernetes.io/name"
    public static let nameValue = "mcp-conductor"
    /// On a heartbeat Lease and the Tasks the MCP front end creates (`app.kubernetes.io/managed-by`).
    public static let managedBy = "app.kubernetes.io/managed-by"
    public static let managedByValue = "mcp-conductor"
}

/// Field paths the API server can select custom resources on (the CRDs' `selectableFields`, Kubernetes 1.31+).
public enum FieldPaths {
    /// Task: the assigned agent; what an agent's task watch selects on.
    public static let taskAssignedAgent = "status.assignedAgent"
    /// Task: the phase.
    public static let taskPhase = "status.phase"
    /// Agent: the phase.
    public static let agentPhase = "status.phase"
}

/// Selector texts for the common queries.
public enum Selectors {
    /// The tasks assigned to an agent: `status.assignedAgent=<agent>`.
    public static func tasksAssigned(to agent: String) -> String { "\(FieldPaths.taskAssignedAgent)=\(agent)" }
    /// The field selector of an agent's task watch: its tasks not finished yet. A task leaves the watch (a
    /// DELETED event) as it completes or fails, so an agent's cache holds its work, not its history.
    public static func tasksInProgress(assignedTo agent: String) -> String {
        "\(tasksAssigned(to: agent)),\(FieldPaths.taskPhase)!=\(TaskPhase.completed.rawValue),\(FieldPaths.taskPhase)!=\(TaskPhase.failed.rawValue)"
    }
    /// The same through the label, for API servers older than 1.31 (`Labels.assignedAgent`).
    public static func tasksLabelledAssigned(to agent: String) -> String { "\(Labels.assignedAgent)=\(agent)" }
    /// The field selector of tasks in a phase: `status.phase=<phase>`.
    public static func tasks(in phase: TaskPhase) -> String { "\(FieldPaths.taskPhase)=\(phase.rawValue)" }
}

/// Where and how the conductor is installed (deploy/controller, deploy/rbac): the names and ports the
/// manifests and the code share.
public enum Installation {
    /// The namespace of the controller, its leader-election Lease, and the agents and their heartbeat Leases.
    public static let systemNamespace = "mcp-system"
    /// The Lease the controller replicas contend for; only its holder schedules and runs the health monitor.
    public static let leaderElectionLeaseName = "mcp-conductor-controller"
    public static let controllerServiceAccount = "mcp-controller"
    public static let agentServiceAccount = "mcp-agent"
    /// The MCP front end (streamable HTTP).
    public static let mcpPort = 8080
    /// `/metrics`, `/healthz` (liveness) and `/readyz` (readiness).
    public static let healthPort = 8081
}

/// An agent's heartbeat: one `coordination.k8s.io/v1` Lease per agent, renewed every few seconds as kubelets
/// renew theirs (KEP-589). The health monitor marks an agent NotReady once its Lease expired.
public enum HeartbeatLease {
    /// The Lease has the agent's own name, in the agent's namespace (so the admission policy can let an agent
    /// write only its own), and the label `Labels.agent`.
    public static func name(forAgent agent: String) -> String { agent }
    /// Written to the Lease's `leaseDurationSeconds`; the monitor reads it from the Lease.
    public static let defaultDurationSeconds = 15
    /// How often the agent renews it: a third of the duration, so that two renewals may fail without expiry.
    public static let defaultRenewInterval: Duration = .seconds(5)
}

/// Defaults for what a spec leaves unset.
public enum Defaults {
    /// A task without a priority is in the middle of the 1-10 range.
    public static let priority = 5
    /// Priorities a task may have (the CRD's minimum and maximum).
    public static let priorityRange = 1...10
    /// An agent that does not say runs one task at a time: more could overload it.
    public static let maxConcurrentTasks = 1
    /// How many times a task may go back to Pending because its agent was lost, before it fails with
    /// `Reason.agentLossRetriesExhausted`. Separate from `retryPolicy.maxRetries`: a lost agent is not the
    /// task's failure, but a task that kills every agent it runs on must still end.
    public static let maxAgentLossRetries = 5
}

/// Size limits. etcd keeps objects under about 1.5 MiB; payload and result are capped well below, so a task
/// with both still fits with its metadata and status.
public enum Limits {
    /// `spec.payload`, as compact JSON.
    public static let maximumPayloadBytes = 256 * 1024
    /// `status.result`, as compact JSON.
    public static let maximumResultBytes = 256 * 1024
    /// `spec.ttlSecondsAfterFinished` and the controller's `--finished-task-ttl`: a year (the CRD says so too).
    public static let maximumFinishedTaskTTLSeconds = 365 * 24 * 3600

    /// Throws when `payload` is above `maximumPayloadBytes`.
    public static func checkPayload(_ payload: JSON) throws(SizeLimitError) {
        try check(payload, field: "spec.payload", limit: maximumPayloadBytes)
    }

    /// Throws when `result` is above `maximumResultBytes`.
    public static func checkResult(_ result: JSON) throws(SizeLimitError) {
        try check(result, field: "status.result", limit: maximumResultBytes)
    }

    private static func check(_ value: JSON, field: String, limit: Int) throws(SizeLimitError) {
        let size = value.serialized().count
        guard size <= limit else { throw SizeLimitError(field: field, size: size, limit: limit) }
    }
}

/// A payload or result above its limit.
public struct SizeLimitError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The field, for example `spec.payload`.
    public var field: String
    /// Its size as compact JSON, in bytes.
    public var size: Int
    public var limit: Int

    public init(field: String, size: Int, limit: Int) {
        self.field = field
        self.size = size
        self.limit = limit
    }

    public var description: String {
        "\(field) is \(size) bytes as JSON; at most \(limit) bytes (\(limit / 1024) KiB) are allowed, so that the object "
            + "stays well under etcd's object size limit (about 1.5 MiB): pass large data by reference (a URL) instead"
    }
}
