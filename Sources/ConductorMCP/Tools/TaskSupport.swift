/// A tool's `execution.taskSupport` (2025-11-25): whether a call of it may be a task. (The specification also
/// has "required"; no tool here needs it, since a plain call can always wait or hand back its task's name.)
enum TaskSupport: String, Sendable, Equatable {
    /// A task-augmented call is refused (-32601): the management tools, which answer at once and manage
    /// tasks themselves.
    case forbidden
    /// Either way: every capability tool, since each call is a Task resource anyway.
    case optional
}
