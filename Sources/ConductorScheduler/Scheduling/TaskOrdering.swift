/// The order in which tasks are placed: effective priority first, then age, then id so that the order is total
/// and the scheduler deterministic. Effective priority is the priority plus one for each full aging interval the
/// task has waited since its creation.
struct TaskOrdering: Sendable {
    /// A task's place in the order at one instant; a smaller key goes first.
    struct Key: Comparable {
        let effectivePriority: Int64
        let createdAt: SchedulingInstant
        let id: TaskID

        static func < (lhs: Key, rhs: Key) -> Bool {
            if lhs.effectivePriority != rhs.effectivePriority { return lhs.effectivePriority > rhs.effectivePriority }
            if lhs.createdAt != rhs.createdAt { return lhs.createdAt < rhs.createdAt }
            return lhs.id < rhs.id
        }
    }

    private let agingIntervalMilliseconds: Int64?

    init(policy: SchedulingPolicy) {
        agingIntervalMilliseconds = policy.agingInterval.map { interval in
            let (seconds, attoseconds) = interval.components
            return max(1, seconds * 1000 + attoseconds / 1_000_000_000_000_000)
        }
    }

    func effectivePriority(of task: TaskRequest, at now: SchedulingInstant) -> Int64 {
        guard let interval = agingIntervalMilliseconds else { return Int64(task.priority) }
        let waited = max(0, now.milliseconds(since: task.createdAt))
        return Int64(task.priority) + waited / interval
    }

    func key(of task: TaskRequest, at now: SchedulingInstant) -> Key {
        Key(effectivePriority: effectivePriority(of: task, at: now), createdAt: task.createdAt, id: task.id)
    }

    func sorted(_ tasks: [TaskRequest], at now: SchedulingInstant) -> [TaskRequest] {
        tasks.map { (key(of: $0, at: now), $0) }.sorted { $0.0 < $1.0 }.map(\.1)
    }
}
