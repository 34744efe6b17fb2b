import ConductorScheduler

/// The synthetic cluster and task stream the benchmark schedules.
struct Workload {
    static let capabilities = (0..<50).map { "capability-\($0)" }
    static let tags = ["zone-a", "zone-b", "zone-c", "zone-d", "ssd", "fast-net", "spot", "on-demand", "team-red",
                       "team-blue", "team-green", "arm64", "amd64", "pci", "eu", "us", "large-mem", "gpu-a100",
                       "canary", "stable"]
    private static let gib: Int64 = 1 << 30

    var random: SplitMix64

    init(seed: UInt64) {
        random = SplitMix64(seed: seed)
    }

    /// An agent with 3 to 8 capabilities, 1 to 4 tags, varied resources, mostly Ready, up to half loaded.
    mutating func agent(_ index: Int) -> AgentSnapshot {
        let capabilityCount = Int.random(in: 3...8, using: &random)
        let tagCount = Int.random(in: 1...4, using: &random)
        let slots = Int.random(in: 4...32, using: &random)
        let state = Int.random(in: 0..<100, using: &random)
        var active: [TaskID: ResourceAmounts] = [:]
        for task in 0..<Int.random(in: 0...(slots / 2), using: &random) {
            active[TaskID("preloaded-\(index)-\(task)")] = ResourceAmounts(cpuMillicores: 250, memoryBytes: Self.gib / 2)
        }
        return AgentSnapshot(
            name: "agent-\(index)",
            isReady: state >= 5,
            isDraining: state >= 5 && state < 10,
            capabilities: Set((0..<capabilityCount).map { _ in Self.capabilities.randomElement(using: &random)! }),
            tags: Set((0..<tagCount).map { _ in Self.tags.randomElement(using: &random)! }),
            maxConcurrentTasks: slots,
            capacity: ResourceAmounts(
                cpuMillicores: Int64.random(in: 2...32, using: &random) * 1000,
                memoryBytes: Int64.random(in: 4...128, using: &random) * Self.gib,
                gpu: Int.random(in: 0..<10, using: &random) == 0),
            activeTasks: active)
    }

    /// A task needing mostly one capability (a quarter two, a few none), with some tag affinity.
    mutating func task(_ index: Int, createdAt: SchedulingInstant) -> TaskRequest {
        let shape = Int.random(in: 0..<100, using: &random)
        let capabilityCount = shape < 5 ? 0 : shape < 75 ? 1 : 2
        return TaskRequest(
            id: TaskID("task-\(index)"),
            priority: Int.random(in: 1...10, using: &random),
            createdAt: createdAt,
            requiredCapabilities: Set((0..<capabilityCount).map { _ in Self.capabilities.randomElement(using: &random)! }),
            resources: ResourceAmounts(
                cpuMillicores: Int64.random(in: 1...20, using: &random) * 100,
                memoryBytes: Int64.random(in: 1...32, using: &random) * Self.gib / 8,
                gpu: Int.random(in: 0..<50, using: &random) == 0),
            requiredTags: tags(chance: 20, count: 1),
            preferredTags: tags(chance: 40, count: Int.random(in: 1...2, using: &random)),
            avoidedTags: tags(chance: 20, count: 1))
    }

    private mutating func tags(chance percent: Int, count: Int) -> Set<String> {
        guard Int.random(in: 0..<100, using: &random) < percent else { return [] }
        return Set((0..<count).map { _ in Self.tags.randomElement(using: &random)! })
    }
}

extension Workload {
    /// One task, for the queue benchmark's elements.
    func taskSample() -> TaskRequest {
        var copy = self
        return copy.task(0, createdAt: SchedulingInstant(millisecondsSinceEpoch: 0))
    }
}
