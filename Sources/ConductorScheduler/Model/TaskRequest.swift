/// A schedulable task as the scheduler needs it: what a task actor enqueues when its task is Pending and due.
public struct TaskRequest: Hashable, Sendable {
    public var id: TaskID
    /// 1 (lowest) to 10 (most urgent); values outside are clamped.
    public var priority: Int
    public var createdAt: SchedulingInstant
    public var requiredCapabilities: Set<String>
    public var resources: ResourceAmounts
    /// Every one must be on the agent.
    public var requiredTags: Set<String>
    /// Each one the agent has raises its score.
    public var preferredTags: Set<String>
    /// Each one the agent has lowers its score; it never rules the agent out.
    public var avoidedTags: Set<String>

    public init(
        id: TaskID,
        priority: Int = 5,
        createdAt: SchedulingInstant,
        requiredCapabilities: Set<String>,
        resources: ResourceAmounts = .none,
        requiredTags: Set<String> = [],
        preferredTags: Set<String> = [],
        avoidedTags: Set<String> = []
    ) {
        self.id = id
        self.priority = min(max(priority, 1), 10)
        self.createdAt = createdAt
        self.requiredCapabilities = requiredCapabilities
        self.resources = resources
        self.requiredTags = requiredTags
        self.preferredTags = preferredTags
        self.avoidedTags = avoidedTags
    }
}
