import ConductorAPI
import KubeClient

/// Where the controller tells operators what happened to a task or an agent: Kubernetes Events, which
/// `kubectl describe` and `kubectl get events` show. `EventRecorder` is the one used in a running controller;
/// it queues and never blocks, as this seam requires.
public protocol ControllerEventSink: Sendable {
    func record(_ object: ObjectReference, type: EventType, reason: String, message: String)
}

extension EventRecorder: ControllerEventSink {}

/// For controllers that record no Events (tests of one part).
public struct NoEvents: ControllerEventSink {
    public init() {}
    public func record(_ object: ObjectReference, type: EventType, reason: String, message: String) {}
}

/// The reasons of the Events the controller records, in the UpperCamelCase Kubernetes uses.
public enum ControllerEventReason {
    /// A task's first attempt was assigned.
    public static let assigned = "Assigned"
    /// A later attempt was assigned: after a retry or the loss of an agent.
    public static let reassigned = "Reassigned"
    public static let completed = "Completed"
    /// Failed for good; the message carries the task's reason (RetriesExhausted, DeadlineExceeded, Cancelled…).
    public static let failed = "Failed"
    /// A failed attempt goes back to Pending after its backoff.
    public static let retrying = "Retrying"
    /// The task's agent was lost; the task goes back to Pending.
    public static let agentLost = "AgentLost"
    public static let agentReady = "AgentReady"
    public static let agentNotReady = "AgentNotReady"
    /// A Task or Agent that this controller's models cannot read (a value its CRD admits but the model refuses):
    /// it is left out, and everything else goes on.
    public static let undecodable = "Undecodable"
}

/// Passes on every Event except the Normal ones on tasks (Assigned, Reassigned, Completed): at thousands of
/// tasks a second those are as many writes again as the tasks' own. Warnings and agents' Events pass.
public struct WarningsOnlyOnTasks: ControllerEventSink {
    private let base: any ControllerEventSink

    public init(_ base: any ControllerEventSink) {
        self.base = base
    }

    public func record(_ object: ObjectReference, type: EventType, reason: String, message: String) {
        if type == .normal, object.kind == ResourceDescriptor.tasks.kind { return }
        base.record(object, type: type, reason: reason, message: message)
    }
}
