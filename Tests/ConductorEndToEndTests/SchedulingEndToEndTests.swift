import ConductorAgent
import ConductorAPI
import ConductorTestSupport
import KubeClient
import Testing

/// Scheduling through `conductor run`, with simulated agents: what the scheduler's unit tests prove on its
/// model, here on the real path (informers, task actors, the queue, status writes, agents' watches).
@Suite(.serialized) struct SchedulingEndToEndTests {
    @Test func tasksGoToAgentsThatFitAndWaitWithAReasonUntilOneDoes() async throws {
        try await ControlPlane.run { plane in
            try await plane.startAgent("gpu-1", tags: ["gpu"], resources: ComputeResources(cpu: try Quantity("4")))
            try await plane.startAgent("small-1", resources: ComputeResources(cpu: try Quantity("1")))
            try await plane.startAgent("translator-1", capabilities: ["translate"])

            try await plane.createTask("needs-gpu-tag", affinity: TaskAffinity(required: ["gpu"]))
            try await plane.createTask("needs-2-cpu", resources: ComputeResources(cpu: try Quantity("2")))
            try await plane.createTask("translate", capabilities: ["translate"])
            try await plane.createTask("summarize", capabilities: ["summarize"])

            #expect(try await plane.waitForFinal("needs-gpu-tag").status.assignedAgent == "gpu-1")
            #expect(try await plane.waitForFinal("needs-2-cpu").status.assignedAgent == "gpu-1")
            let translated = try await plane.waitForFinal("translate")
            #expect(translated.status.assignedAgent == "translator-1" && translated.status.phase == .completed)
            #expect(translated.status.result == ["echo": ["n": 1]])

            // No agent offers the capability: Pending, saying so; scheduled the moment one registers.
            let waiting = try await plane.waitForTask("summarize", "waits for the capability") {
                $0.status.conditions[.scheduled]?.reason == .noAgentWithCapability
            }
            #expect(waiting.status.effectivePhase == .pending)
            try await plane.startAgent("summarizer-1", capabilities: ["summarize"])
            let summarized = try await plane.waitForFinal("summarize")
            #expect(summarized.status.assignedAgent == "summarizer-1" && summarized.status.attempt == 1)
        }
    }

    @Test func busyAgentsMakeTasksWaitAndTheyRunByPriorityOnceAnAgentIsFree() async throws {
        try await ControlPlane.run { plane in
            let work = HeldWork()
            try await plane.startAgent("solo", slots: 1, handler: work.handler)
            try await plane.createTask("first")
            try await plane.waitForTask("first", "running") { $0.status.phase == .running }
            try await waitUntil("the agent reports one task running") { try await plane.agents.get("solo").status.currentTasks == 1 }

            try await plane.createTask("low", priority: 1)
            try await plane.createTask("high", priority: 9)
            for name in ["low", "high"] {
                try await plane.waitForTask(name, "waits: all agents busy") { $0.status.conditions[.scheduled]?.reason == .allAgentsBusy }
            }
            work.release()
            for name in ["first", "low", "high"] { try await plane.waitForFinal(name) }
            #expect(work.started == ["first", "high", "low"], "the higher priority runs first once the slot frees")
        }
    }

    @Test func tasksSpreadOverTheLeastLoadedAgents() async throws {
        try await ControlPlane.run { plane in
            let work = HeldWork()
            try await plane.startAgent("w1", slots: 4, handler: work.handler)
            try await plane.startAgent("w2", slots: 4, handler: work.handler)
            for index in 1...4 { try await plane.createTask("spread-\(index)") }
            var byAgent: [String: Int] = [:]
            for index in 1...4 {
                let running = try await plane.waitForTask("spread-\(index)", "running") { $0.status.phase == .running }
                byAgent[running.status.assignedAgent ?? "", default: 0] += 1
            }
            #expect(byAgent == ["w1": 2, "w2": 2])
            work.release()
            for index in 1...4 { try await plane.waitForFinal("spread-\(index)") }
        }
    }
}
