import ConductorAPI
import KubeJSON

/// How long an MCP task handle lasts: `afterEnd` past the moment the task ended (finished, or was asked
/// to cancel), not past its creation, so that a long task's handle does not expire while it runs (the
/// Python SDK asks for 60 s by default). Pure: every time it needs is passed in.
struct TaskLifetime: Sendable, Equatable {
    /// L, in milliseconds: what the task's `mcp.io/task-ttl-ms` annotation records.
    var afterEndMilliseconds: Int64

    /// The lifetime a `tools/call`'s `task.ttl` asks for, clamped to [1 s, `maximum`]; `fallback` when it
    /// asks for none. The specification lets the receiver override the requested ttl, and `tasks/get`
    /// reports the one in force.
    static func requested(_ task: JSON, fallback: Duration, maximum: Duration) throws(JSONRPCError) -> TaskLifetime {
        guard let object = task.object else { throw .invalidParams("task must be an object, not \(task.typeName)") }
        let most = maximum.milliseconds
        switch object["ttl"] {
        case nil, .null?:
            return TaskLifetime(afterEndMilliseconds: min(fallback.milliseconds, most))
        case let value?:
            guard let requested = value.int ?? value.double.flatMap({ $0.isFinite ? Int64($0) : nil }), requested >= 0 else {
                throw .invalidParams("task.ttl must be a number of milliseconds, 0 or more, not \(value.text)")
            }
            return TaskLifetime(afterEndMilliseconds: min(max(requested, 1000), most))
        }
    }

    /// The lifetime a Task records, nil for a Task that is no MCP task handle (a plain call's, conductor_submit's).
    static func of(_ task: TaskResource) -> TaskLifetime? {
        guard let text = task.metadata.annotations?[TaskSubmitter.taskTTLAnnotation], let milliseconds = Int64(text),
              milliseconds > 0 else { return nil }
        return TaskLifetime(afterEndMilliseconds: milliseconds)
    }

    /// When the task ended for its handle: the cancel request (once cancelled), else the completion.
    func end(of task: TaskResource) -> Timestamp? {
        if TaskHandleStatus(task) == .cancelled, let text = task.metadata.annotations?[TaskSubmitter.cancelRequestedAnnotation],
           let requested = try? Timestamp(rfc3339: text) {
            return requested
        }
        guard TaskHandleStatus(task).isTerminal else { return nil }
        return task.status.completionTime
    }

    /// The `ttl` `tasks/get` reports, in milliseconds from creation as the specification counts it: null
    /// while the task has not ended (its end is not known yet), then the time to its end plus L.
    func reportedTTL(of task: TaskResource, createdAt: Timestamp) -> Int64? {
        guard let end = end(of: task) else { return nil }
        return max(0, createdAt.duration(to: end).milliseconds) + afterEndMilliseconds
    }

    /// When the handle expires; nil while the task has not ended.
    func expiry(of task: TaskResource) -> Timestamp? {
        end(of: task)?.adding(.milliseconds(afterEndMilliseconds))
    }

    func hasExpired(_ task: TaskResource, now: Timestamp) -> Bool {
        guard let expiry = expiry(of: task) else { return false }
        return expiry <= now
    }

    /// `spec.ttlSecondsAfterFinished` for the Task: at least L and at least the controller's retention, so
    /// that the resource outlives its handle; at most what the API accepts.
    func retentionSeconds(controllerDefault: Int) -> Int {
        let seconds = Int((afterEndMilliseconds + 999) / 1000)
        return min(max(seconds, controllerDefault), Limits.maximumFinishedTaskTTLSeconds)
    }
}

extension Duration {
    /// Whole milliseconds, rounded down.
    var milliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }
}
