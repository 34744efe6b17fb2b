import ConductorAPI

/// A Task resource's state as an MCP task status (2025-11-25 `Task.status`). A task whose cancellation was
/// requested is `cancelled` from that moment on, whatever its phase becomes, because the specification
/// says a cancelled task MUST remain cancelled even if its work finishes.
enum TaskHandleStatus: String, Sendable, Equatable {
    case working
    case completed
    case failed
    case cancelled

    init(_ task: TaskResource) {
        let status = task.status
        if task.spec.isCancelRequested, Self.cancelCounts(task) {
            self = .cancelled
        } else if status.phase == .completed {
            self = .completed
        } else if status.isFinal {
            self = status.reason == .cancelled ? .cancelled : .failed
        } else {
            // Pending, Assigned, Running, and Failed attempts the controller will retry.
            self = .working
        }
    }

    var isTerminal: Bool { self != .working }

    /// A cancel request makes the task cancelled unless it came after the task had finished (a
    /// conductor_cancel on a completed task): tasks/cancel records when it asked, and a task cancelled
    /// before it ended ends Failed with reason Cancelled.
    private static func cancelCounts(_ task: TaskResource) -> Bool {
        task.metadata.annotations?[TaskSubmitter.cancelRequestedAnnotation] != nil || !task.status.isFinal
            || task.status.reason == .cancelled
    }
}
