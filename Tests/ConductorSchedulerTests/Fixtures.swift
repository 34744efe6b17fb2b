@testable import ConductorScheduler

/// An agent with test-friendly defaults: Ready, capability "run", four slots, unlimited CPU and memory.
func agent(
    _ name: String,
    capabilities: Set<String> = ["run"],
    tags: Set<String> = [],
    slots: Int = 4,
    capacity: ResourceAmounts = .unlimited,
    ready: Bool = true,
    draining: Bool = false,
    active: [TaskID: ResourceAmounts] = [:]
) -> AgentSnapshot {
    AgentSnapshot(
        name: name, isReady: ready, isDraining: draining, capabilities: capabilities, tags: tags,
        maxConcurrentTasks: slots, capacity: capacity, activeTasks: active)
}

/// A task with test-friendly defaults: priority 5, created at second 0, needing capability "run".
func task(
    _ id: TaskID,
    priority: Int = 5,
    createdAtSecond: Int64 = 0,
    capabilities: Set<String> = ["run"],
    resources: ResourceAmounts = .none,
    requiredTags: Set<String> = [],
    preferredTags: Set<String> = [],
    avoidedTags: Set<String> = []
) -> TaskRequest {
    TaskRequest(
        id: id, priority: priority, createdAt: .seconds(createdAtSecond), requiredCapabilities: capabilities,
        resources: resources, requiredTags: requiredTags, preferredTags: preferredTags, avoidedTags: avoidedTags)
}

func scheduler(_ agents: AgentSnapshot..., policy: SchedulingPolicy = SchedulingPolicy()) -> Scheduler {
    var scheduler = Scheduler(policy: policy)
    for agent in agents { scheduler.updateAgent(agent) }
    return scheduler
}

extension Scheduler {
    /// Schedules at second 0 and gives the agent chosen for each task, or the reason it was refused.
    mutating func place(_ tasks: TaskRequest..., atSecond second: Int64 = 0) -> [TaskID: Outcome] {
        var outcomes: [TaskID: Outcome] = [:]
        for decision in schedule(batch: tasks, now: .seconds(second)) {
            switch decision {
            case .assign(let task, let agent): outcomes[task] = .agent(agent)
            case .unschedulable(let task, let reason): outcomes[task] = .refused(reason)
            }
        }
        return outcomes
    }
}

enum Outcome: Hashable, CustomStringConvertible {
    case agent(String)
    case refused(UnschedulableReason)

    var description: String {
        switch self {
        case .agent(let name): "agent \(name)"
        case .refused(let reason): "refused: \(reason)"
        }
    }
}

extension ResourceAmounts {
    static func cpu(_ millicores: Int64) -> ResourceAmounts {
        ResourceAmounts(cpuMillicores: millicores)
    }

    static func memory(_ bytes: Int64) -> ResourceAmounts {
        ResourceAmounts(memoryBytes: bytes)
    }
}

extension Scheduler {
    /// Takes the tasks to re-offer at second 0 and gives their ids.
    mutating func reofferedIDs() -> [TaskID] {
        takeTasksToReoffer(now: .seconds(0)).map(\.id)
    }
}
