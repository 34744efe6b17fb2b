import ConductorAPI
import KubeJSON

/// One Task resource as an MCP task (2025-11-25 `Task`): the id is the resource's name, the status and
/// timestamps are read from it, so that any replica answers the same for it, before and after restarts.
struct TaskHandle: Sendable {
    let task: TaskResource
    let lifetime: TaskLifetime
    /// What `pollInterval` suggests, in milliseconds.
    let pollInterval: Int64

    var id: String { task.name }

    var status: TaskHandleStatus { TaskHandleStatus(task) }

    /// For people and models: the phase line while it works, the failure's reason and message when it failed.
    var statusMessage: String {
        switch status {
        case .working:
            return TaskSummary.line(task)
        case .completed:
            return "Completed" + (task.status.assignedAgent.map { " on \($0)" } ?? "")
        case .failed:
            return "\(task.status.reason?.rawValue ?? "Failed"): \(task.status.message ?? "no message")"
        case .cancelled:
            return "Cancelled" + (task.status.message.map { ": \($0)" } ?? "")
        }
    }

    /// The resource's creation; the epoch only for a resource without one (never from an API server).
    var createdAt: Timestamp {
        task.metadata.creationTimestamp.flatMap { try? Timestamp(rfc3339: $0) } ?? Timestamp(secondsSinceEpoch: 0)
    }

    /// The latest moment the task is known to have changed: creation, start, completion, a condition's
    /// transition or the cancel request.
    var lastUpdatedAt: Timestamp {
        var latest = createdAt
        let candidates = [task.status.startTime, task.status.completionTime,
                          task.metadata.annotations?[TaskSubmitter.cancelRequestedAnnotation].flatMap { try? Timestamp(rfc3339: $0) }]
            + task.status.conditions.map(\.lastTransitionTime)
        for candidate in candidates {
            if let candidate, candidate > latest { latest = candidate }
        }
        return latest
    }

    func hasExpired(now: Timestamp) -> Bool { lifetime.hasExpired(task, now: now) }

    /// The 2025-11-25 `Task` object (`tasks/get` answers it flat, `tasks/list` in its array).
    var legacyJSON: JSON {
        let object: JSONObject = [
            "taskId": .string(id),
            "status": .string(status.rawValue),
            "statusMessage": .string(statusMessage),
            "createdAt": .string(createdAt.rfc3339),
            "lastUpdatedAt": .string(lastUpdatedAt.rfc3339),
            "ttl": lifetime.reportedTTL(of: task, createdAt: createdAt).map(JSON.int) ?? .null,
            "pollInterval": .int(pollInterval),
        ]
        return .object(object)
    }
}
