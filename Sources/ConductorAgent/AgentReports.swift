import ConductorAPI
import KubeJSON

/// The statuses an agent writes over the task it was assigned: pure, with the time passed in. Each keeps the
/// attempt it was given: the fenced writer refuses anything else.
public enum AgentReports {
    /// The agent took the attempt up: Running, with Running=True (`Reason.started`).
    public static func running(_ task: TaskResource, now: Timestamp) -> TaskStatus {
        var status = task.status
        status.phase = .running
        status.reason = .started
        status.message = "attempt \(status.attempt ?? 0) started on \(status.assignedAgent ?? "the agent")"
        status.startTime = now
        status.conditions.set(.running, .true, reason: .started, message: status.message, observedGeneration: generation(task), now: now)
        return status
    }

    /// The attempt succeeded: Completed with the result, Complete=True (`Reason.succeeded`).
    public static func completed(_ task: TaskResource, result: JSON, now: Timestamp) -> TaskStatus {
        var status = task.status
        status.phase = .completed
        status.reason = .succeeded
        status.message = "attempt \(status.attempt ?? 0) completed"
        status.result = result
        status.completionTime = now
        status.conditions.set(.running, .false, reason: .succeeded, message: status.message, observedGeneration: generation(task), now: now)
        status.conditions.set(.complete, .true, reason: .succeeded, message: status.message, observedGeneration: generation(task), now: now)
        return status
    }

    /// The attempt failed: Failed with `Reason.executionFailed` and why. Not final: the controller retries
    /// it while the task's retry policy allows.
    public static func failed(_ task: TaskResource, message: String, now: Timestamp) -> TaskStatus {
        ended(task, failing: .executionFailed, message: message, now: now)
    }

    /// An attempt this agent held in an earlier life (it died with the process): Failed with `Reason.agentLost`,
    /// which the controller counts against the task's agent-loss budget rather than its retries, as it does
    /// when it finds the agent's heartbeat gone. Not final.
    public static func lost(_ task: TaskResource, message: String, now: Timestamp) -> TaskStatus {
        ended(task, failing: .agentLost, message: message, now: now)
    }

    /// The attempt is over without a result: Failed with `reason`, and Running=False for the same reason.
    private static func ended(_ task: TaskResource, failing reason: Reason, message: String, now: Timestamp) -> TaskStatus {
        var status = task.status
        status.phase = .failed
        status.reason = reason
        status.message = message
        status.completionTime = now
        status.conditions.set(.running, .false, reason: reason, message: message, observedGeneration: generation(task), now: now)
        return status
    }

    private static func generation(_ task: TaskResource) -> Int? {
        task.metadata.generation.map(Int.init)
    }
}
