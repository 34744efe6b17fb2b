import Testing
@testable import ConductorScheduler

/// The decision search (agent-set filters, load levels, score buckets, early stops) must find the same best score
/// as looking at every agent. A reference that looks at every agent, on a random cluster, checks it.
@Suite struct SearchTests {
    /// A small seeded generator, so that a failure can be replayed.
    struct Generator: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return state ^ (state >> 29)
        }
    }

    static let capabilities = ["a", "b", "c", "d", "e", "f"]
    static let tags = ["t1", "t2", "t3", "t4", "t5"]

    /// The score as `SchedulingPolicy` documents it with the default weights, or nil where the task cannot go.
    static func referenceScore(of task: TaskRequest, on agent: AgentSnapshot, usage: AgentUsage) -> Double? {
        guard agent.isReady, !agent.isDraining, agent.capabilities.isSuperset(of: task.requiredCapabilities),
              agent.tags.isSuperset(of: task.requiredTags), usage.tasks < agent.maxConcurrentTasks,
              task.resources.cpuMillicores <= agent.capacity.cpuMillicores - usage.cpuMillicores,
              task.resources.memoryBytes <= agent.capacity.memoryBytes - usage.memoryBytes,
              !task.resources.gpu || (agent.capacity.gpu && usage.gpuTasks == 0)
        else { return nil }
        let used = max(
            Double(usage.tasks) / Double(agent.maxConcurrentTasks),
            Double(usage.cpuMillicores) / Double(agent.capacity.cpuMillicores),
            Double(usage.memoryBytes) / Double(agent.capacity.memoryBytes))
        return 1 - min(used, 1) + 0.5 * Double(agent.tags.intersection(task.preferredTags).count)
            - 0.5 * Double(agent.tags.intersection(task.avoidedTags).count)
    }

    @Test(arguments: [1, 2, 3])
    func everyDecisionFindsTheBestScoreThatLookingAtEveryAgentFinds(seed: UInt64) {
        var random = Generator(state: seed)
        var s = Scheduler()
        var cluster: [String: AgentSnapshot] = [:]
        for index in 0..<300 {
            let agent = AgentSnapshot(
                name: "agent-\(index)",
                isReady: Int.random(in: 0..<10, using: &random) > 0,
                capabilities: Set(Self.capabilities.filter { _ in Bool.random(using: &random) }),
                tags: Set(Self.tags.filter { _ in Int.random(in: 0..<4, using: &random) == 0 }),
                maxConcurrentTasks: Int.random(in: 1...8, using: &random),
                capacity: ResourceAmounts(
                    cpuMillicores: Int64.random(in: 1...16, using: &random) * 500,
                    memoryBytes: Int64.random(in: 1...16, using: &random) << 30,
                    gpu: Int.random(in: 0..<5, using: &random) == 0))
            cluster[agent.name] = agent
            s.updateAgent(agent)
        }
        var assigned = 0
        for index in 0..<600 {
            let task = TaskRequest(
                id: TaskID("task-\(index)"),
                createdAt: .seconds(0),
                requiredCapabilities: Set(Self.capabilities.filter { _ in Int.random(in: 0..<4, using: &random) == 0 }),
                resources: ResourceAmounts(
                    cpuMillicores: Int64.random(in: 0...8, using: &random) * 250,
                    memoryBytes: Int64.random(in: 0...8, using: &random) << 28,
                    gpu: Int.random(in: 0..<20, using: &random) == 0),
                requiredTags: Set(Self.tags.filter { _ in Int.random(in: 0..<10, using: &random) == 0 }),
                preferredTags: Set(Self.tags.filter { _ in Int.random(in: 0..<4, using: &random) == 0 }),
                avoidedTags: Set(Self.tags.filter { _ in Int.random(in: 0..<6, using: &random) == 0 }))
            let best = cluster.values.compactMap { agent in
                Self.referenceScore(of: task, on: agent, usage: s.usage(ofAgent: agent.name)!)
            }.max()
            let decision = s.schedule(batch: [task], now: .seconds(0))
            switch decision.first {
            case .assign(_, let name):
                // The usage now includes the task; the reference scores the agent as it was before.
                var before = s.usage(ofAgent: name)!
                before.remove(task.resources)
                let chosenBefore = Self.referenceScore(of: task, on: cluster[name]!, usage: before)
                #expect(chosenBefore != nil, "task \(index) went to \(name), where it does not fit")
                #expect((chosenBefore ?? -10) >= (best ?? 10) - 1e-5, "task \(index): \(name) is not the best")
                assigned += 1
                // Release some work now and then, so that loads move both ways.
                if index % 3 == 0 { s.release(task.id) }
            case .unschedulable:
                #expect(best == nil, "task \(index) was refused though an agent fits it")
            case nil:
                Issue.record("no decision for task \(index)")
            }
        }
        #expect(assigned > 100)
    }
}
