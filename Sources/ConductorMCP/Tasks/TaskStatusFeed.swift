import ConductorAPI
import KubeJSON

/// Turns the versions of task handles into status notifications, one per change a client sees (its status
/// or its status message, not every write to the resource): 2025-11-25's `notifications/tasks/status` on a
/// session's GET stream, or the 2026-07-28 tasks extension's `notifications/tasks` (the full detailed task,
/// as `tasks/get` would answer) on a `subscriptions/listen` stream. Both revisions make them optional:
/// clients may keep polling.
struct TaskStatusFeed: Sendable {
    enum Shape: Sendable {
        case legacy
        /// Stamped with the id of the `subscriptions/listen` request, as every frame of that stream is.
        case tasksExtension(subscription: JSON)
    }

    let pollInterval: Int64
    let shape: Shape
    /// What was last sent per task id: status and message.
    private var sent: [String: String] = [:]

    init(pollInterval: Int64, shape: Shape = .legacy) {
        self.pollInterval = pollInterval
        self.shape = shape
    }

    /// The notification `task`'s new version calls for; nil when it is no handle or nothing seen changed.
    mutating func notification(for task: TaskResource) -> JSON? {
        guard let lifetime = TaskLifetime.of(task) else { return nil }
        let handle = TaskHandle(task: task, lifetime: lifetime, pollInterval: pollInterval)
        let seen = "\(handle.status.rawValue)\n\(handle.statusMessage)"
        guard sent[handle.id] != seen else { return nil }
        sent[handle.id] = seen
        switch shape {
        case .legacy:
            return JSONRPCMessage.notification("notifications/tasks/status", handle.legacyJSON)
        case .tasksExtension(let subscription):
            var params = TasksExtension.json(handle, resultType: nil, detailed: true)
            params["_meta"] = [SubscriptionStream.subscriptionIDKey: subscription]
            return JSONRPCMessage.notification("notifications/tasks", params)
        }
    }
}
