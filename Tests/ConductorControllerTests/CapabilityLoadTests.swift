@testable import ConductorController
import ConductorAPI
import KubeClient
import Testing

/// The per-capability figures an autoscaler reads: waiting and running tasks, free slots of the agents that
/// take tasks now, each kept from informer events alone.
@Suite struct CapabilityLoadTests {
    typealias Figures = CapabilityLoad.Figures

    static func task(_ name: String, _ capabilities: [String], _ phase: TaskPhase? = nil, agent: String? = nil,
                     reason: Reason? = nil) -> TaskResource {
        TaskResource(metadata: ObjectMeta(name: name, namespace: "default"),
                     spec: TaskSpec(requiredCapabilities: capabilities),
                     status: TaskStatus(phase: phase, assignedAgent: agent, reason: reason))
    }

    static func agent(_ name: String, _ capabilities: [String], slots: Int, _ phase: AgentPhase? = .ready,
                      draining: Bool? = nil) -> Agent {
        Agent(metadata: ObjectMeta(name: name, namespace: "mcp-system"),
              spec: AgentSpec(capabilities: capabilities, maxConcurrentTasks: slots, draining: draining),
              status: AgentStatus(phase: phase))
    }

    @Test func waitingTasksCountForEachCapabilityTheyNeedAndHeldOnesAsRunning() {
        var load = CapabilityLoad()
        #expect(load.apply(.added(Self.task("a", ["echo"]))) == ["echo"])
        #expect(load.apply(.added(Self.task("b", ["echo", "render"]))) == ["echo", "render"])
        #expect(load.figures(for: "echo") == Figures(waiting: 2))
        #expect(load.figures(for: "render") == Figures(waiting: 1))

        let pending = Self.task("b", ["echo", "render"])
        _ = load.apply(.updated(old: pending, new: Self.task("b", ["echo", "render"], .running, agent: "one")))
        #expect(load.figures(for: "echo") == Figures(waiting: 1, running: 1))
        #expect(load.figures(for: "render") == Figures(waiting: 0, running: 1))
        #expect(load.figures(for: "unknown") == Figures())
    }

    @Test func aFailedAttemptAboutToBeRetriedIsStillWaitingAndAFinalFailureIsNot() {
        var load = CapabilityLoad()
        _ = load.apply(.added(Self.task("retried", ["echo"], .failed, reason: .executionFailed)))
        _ = load.apply(.added(Self.task("given-up", ["echo"], .failed, reason: .cancelled)))
        _ = load.apply(.added(Self.task("done", ["echo"], .completed, agent: "one")))
        #expect(load.figures(for: "echo") == Figures(waiting: 1))
    }

    @Test func freeSlotsAreTheLimitLessHeldTasksOfReadyAgentsThatAreNotDraining() {
        var load = CapabilityLoad()
        #expect(load.apply(.added(Self.agent("one", ["echo", "render"], slots: 3))) == ["echo", "render"])
        _ = load.apply(.added(Self.agent("two", ["echo"], slots: 2)))
        _ = load.apply(.added(Self.agent("unknown", ["echo"], slots: 5, nil)))
        _ = load.apply(.added(Self.agent("sick", ["echo"], slots: 5, .notReady)))
        _ = load.apply(.added(Self.agent("leaving", ["echo"], slots: 5, draining: true)))
        #expect(load.figures(for: "echo").freeSlots == 5)
        #expect(load.figures(for: "render").freeSlots == 3)

        // A task held by "one" takes a slot from every capability "one" offers, not only its own.
        #expect(load.apply(.added(Self.task("t", ["echo"], .assigned, agent: "one"))) == ["echo", "render"])
        #expect(load.figures(for: "render").freeSlots == 2)
        #expect(load.figures(for: "echo") == Figures(waiting: 0, running: 1, freeSlots: 4))

        // More held than the limit (a limit lowered under load) never counts below zero.
        for index in 0..<4 { _ = load.apply(.added(Self.task("over-\(index)", ["render"], .running, agent: "two"))) }
        #expect(load.figures(for: "echo").freeSlots == 2)
    }

    @Test func anAgentThatLeavesOrStopsTakingTasksTakesItsSlotsWithIt() {
        var load = CapabilityLoad()
        let ready = Self.agent("one", ["echo"], slots: 3)
        _ = load.apply(.added(ready))
        _ = load.apply(.added(Self.agent("two", ["echo"], slots: 1)))
        #expect(load.figures(for: "echo").freeSlots == 4)

        let draining = Self.agent("one", ["echo"], slots: 3, draining: true)
        #expect(load.apply(.updated(old: ready, new: draining)) == ["echo"])
        #expect(load.figures(for: "echo").freeSlots == 1)
        #expect(load.apply(.updated(old: draining, new: draining)) == [], "an unchanged agent changes no figure")
        _ = load.apply(.deleted(Self.agent("two", ["echo"], slots: 1), finalStateUnknown: false))
        #expect(load.figures(for: "echo").freeSlots == 0)
    }

    @Test func aDeletedTaskGivesItsCountsAndItsAgentsSlotBack() {
        var load = CapabilityLoad()
        _ = load.apply(.added(Self.agent("one", ["echo"], slots: 2)))
        let held = Self.task("t", ["echo"], .running, agent: "one")
        _ = load.apply(.added(held))
        #expect(load.figures(for: "echo") == Figures(waiting: 0, running: 1, freeSlots: 1))
        #expect(load.apply(.deleted(held, finalStateUnknown: true)) == ["echo"])
        #expect(load.figures(for: "echo") == Figures(waiting: 0, running: 0, freeSlots: 2))
    }
}
