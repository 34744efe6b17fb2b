import ConductorAPI
import KubeJSON

/// Turns task versions into `notifications/progress`, only when something a client sees changed. Progress
/// must increase at every notification: the agent's `current` when it grew, else a step above the last
/// value sent (a phase change or a heartbeat), so that the message can change while the number may not.
struct ProgressReporter: Sendable {
    let target: ProgressTarget
    private(set) var last: TaskResource?
    private var sent: Double = 0
    private var lastSeen: (phase: TaskPhase, progress: TaskProgress?)?

    init(target: ProgressTarget) {
        self.target = target
    }

    mutating func report(_ task: TaskResource, force: Bool) {
        last = task
        let seen = (phase: task.status.effectivePhase, progress: task.status.progress)
        if !force, let lastSeen, lastSeen.phase == seen.phase, lastSeen.progress == seen.progress { return }
        lastSeen = seen
        var value = sent + 0.001
        if let current = task.status.progress?.current, current > sent { value = current }
        sent = value
        var params: JSONObject = ["progressToken": target.token, "progress": .double(value), "message": .string(TaskSummary.line(task))]
        if let total = task.status.progress?.total, total >= value { params["total"] = .double(total) }
        target.sink.send(JSONRPCMessage.notification("notifications/progress", .object(params)))
    }
}
