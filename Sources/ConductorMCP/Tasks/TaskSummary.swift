import ConductorAPI
import KubeJSON

/// A task as the management tools show it: what a caller needs to follow it, without its conditions.
enum TaskSummary {
    static func json(_ task: TaskResource) -> JSON {
        let status = task.status
        var object: JSONObject = [
            "name": .string(task.name),
            "namespace": .string(task.namespace ?? ""),
            "phase": .string(status.effectivePhase.rawValue),
            "final": .bool(status.isFinal),
            "capabilities": .array(task.spec.requiredCapabilities.map(JSON.string)),
        ]
        if let attempt = status.attempt { object["attempt"] = .int(Int64(attempt)) }
        if let agent = status.assignedAgent { object["agent"] = .string(agent) }
        if let progress = status.progress { object["progress"] = progressJSON(progress) }
        if let reason = status.reason { object["reason"] = .string(reason.rawValue) }
        if let message = status.message { object["message"] = .string(message) }
        if let result = status.result { object["result"] = result }
        if task.spec.isCancelRequested { object["cancelRequested"] = true }
        if let created = task.metadata.creationTimestamp { object["createdAt"] = .string(created) }
        if let completed = status.completionTime { object["completedAt"] = .string(completed.rfc3339) }
        return .object(object)
    }

    static func progressJSON(_ progress: TaskProgress) -> JSON {
        var object: JSONObject = [:]
        if let current = progress.current { object["current"] = .double(current) }
        if let total = progress.total { object["total"] = .double(total) }
        if let message = progress.message { object["message"] = .string(message) }
        return .object(object)
    }

    /// One line for people and models: `Running on agent-1 (attempt 1): step 3 of 5`.
    static func line(_ task: TaskResource) -> String {
        let status = task.status
        var text = status.effectivePhase.rawValue
        if let agent = status.assignedAgent, status.effectivePhase.holdsAgent { text += " on \(agent)" }
        if let attempt = status.attempt, attempt > 1 { text += " (attempt \(attempt))" }
        if let message = status.progress?.message ?? status.message { text += ": \(message)" }
        return text
    }
}
