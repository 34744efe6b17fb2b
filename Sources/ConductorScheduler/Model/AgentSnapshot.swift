/// What the controller's informers know about one agent, handed to the scheduler on every watch event. Applying
/// the same snapshot twice changes nothing: the scheduler reconciles the tasks listed here with its own
/// reservations by task id, never by adding counts.
public struct AgentSnapshot: Hashable, Sendable {
    public var name: String
    /// Status phase Ready (and its Lease not expired).
    public var isReady: Bool
    /// Being drained: keeps its tasks, takes no new ones.
    public var isDraining: Bool
    public var capabilities: Set<String>
    public var tags: Set<String>
    /// Slots: how many tasks may be assigned or running on the agent at once.
    public var maxConcurrentTasks: Int
    public var capacity: ResourceAmounts
    /// The tasks the cluster shows as Assigned or Running on this agent, each with its resource request. Their
    /// count is the agent's load and their requests add up to its resources in use.
    public var activeTasks: [TaskID: ResourceAmounts]

    public init(
        name: String,
        isReady: Bool = true,
        isDraining: Bool = false,
        capabilities: Set<String>,
        tags: Set<String> = [],
        maxConcurrentTasks: Int,
        capacity: ResourceAmounts = .unlimited,
        activeTasks: [TaskID: ResourceAmounts] = [:]
    ) {
        self.name = name
        self.isReady = isReady
        self.isDraining = isDraining
        self.capabilities = capabilities
        self.tags = tags
        self.maxConcurrentTasks = maxConcurrentTasks
        self.capacity = capacity
        self.activeTasks = activeTasks
    }

    /// Assigned and running tasks as the cluster shows them.
    public var load: Int { activeTasks.count }
}
