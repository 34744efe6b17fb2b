@testable import ConductorController
import ConductorAPI
import ConductorScheduler
import ConductorTestSupport
import KubeClient
import Testing

/// The assignment loop on a real local API server, with agents simulated by the test.
@Suite struct AssignmentLoopTests {
    @Test func aTaskGoesOnlyToAnAgentWithEveryRequiredCapability() async throws {
        try await AssignmentHarness.run { harness in
            try await harness.createAgent("echoer", capabilities: ["echo"], slots: 4)
            try await harness.createAgent("renderer", capabilities: ["echo", "render"], slots: 4)
            try await harness.createTask("render", capabilities: ["render"])
            try await harness.createTask("render-and-echo", capabilities: ["echo", "render"])
            #expect(try await harness.waitForAssignment("render").status.assignedAgent == "renderer")
            #expect(try await harness.waitForAssignment("render-and-echo").status.assignedAgent == "renderer")
            let assigned = try await harness.tasks.get("render")
            #expect(assigned.status.attempt == 1 && assigned.status.conditions.isTrue(.scheduled))
        }
    }

    @Test func anAgentsCapacityIsCountedAtOnce() async throws {
        try await AssignmentHarness.run { harness in
            try await harness.createAgent("pair", slots: 2)
            let names = (1...5).map { "burst-\($0)" }
            for name in names { try await harness.createTask(name) }
            // Every task is decided: two assigned, three waiting because the agent is full.
            var assigned: [String] = []
            try await waitUntil("all five tasks are decided") {
                let stored = try await harness.tasks.list().items
                assigned = stored.filter { $0.status.phase == .assigned }.map(\.name)
                let waiting = stored.filter { $0.status.conditions[.scheduled]?.reason == .allAgentsBusy }
                return assigned.count + waiting.count == names.count
            }
            #expect(assigned.count == 2)
            #expect(try await harness.activeTasksByAgent()["pair"]?.count == 2)
            #expect(await harness.loop.usage(ofAgent: "pair")?.tasks == 2)

            // A finished task frees exactly one slot, which a waiting task takes at once.
            try await harness.complete(assigned[0])
            try await waitUntil("a waiting task took the freed slot") {
                let assignedNow = try await harness.tasks.list().items.filter { $0.status.phase == .assigned }
                return assignedNow.count == 2
            }
            #expect(try await harness.activeTasksByAgent()["pair"]?.count == 2)
            #expect(await harness.loop.waitingTaskCount == 2)
            let statistics = try await harness.statistics(afterAssignments: 3)
            #expect(statistics.assignmentsWritten == 3 && statistics.conflicts == 0)
        }
    }

    @Test func aBusyAgentIsPassedOverForOneWithAFreeSlot() async throws {
        try await AssignmentHarness.run { harness in
            try await harness.createAgent("busy", slots: 1)
            try await harness.createTask("first")
            let first = try await harness.waitForAssignment("first")
            #expect(first.status.assignedAgent == "busy")
            try await harness.report(first, .running)

            try await harness.createAgent("free", slots: 1)
            try await harness.createTask("second")
            #expect(try await harness.waitForAssignment("second").status.assignedAgent == "free")
            try await harness.createTask("third")
            try await harness.waitForWaiting("third", reason: .allAgentsBusy)
        }
    }

    @Test func aFreedSlotGoesToTheWaitingTaskOfHighestPriority() async throws {
        try await AssignmentHarness.run { harness in
            try await harness.createAgent("single", slots: 1)
            try await harness.createTask("blocker")
            try await harness.report(try await harness.waitForAssignment("blocker"), .running)
            for (name, priority) in [("low", 1), ("high", 9), ("middle", 5)] {
                try await harness.createTask(name, priority: priority)
                try await harness.waitForWaiting(name, reason: .allAgentsBusy)
            }
            var previous = "blocker"
            for next in ["high", "middle", "low"] {
                try await harness.complete(previous)
                try await harness.waitForAssignment(next)
                let active = try await harness.activeTasksByAgent()
                #expect(active == ["single": [next]], "only \(next) holds the slot")
                previous = next
            }
        }
    }

    @Test func tasksSpreadOverTheLeastLoadedAgents() async throws {
        try await AssignmentHarness.run { harness in
            try await harness.createAgent("a", slots: 4)
            for name in ["a-1", "a-2"] {
                try await harness.createTask(name)
                #expect(try await harness.waitForAssignment(name).status.assignedAgent == "a")
            }
            try await harness.createAgent("b", slots: 4)
            try await harness.createAgent("c", slots: 4)
            let spread = (1...4).map { "spread-\($0)" }
            for name in spread { try await harness.createTask(name) }
            for name in spread { try await harness.waitForAssignment(name) }
            let active = try await harness.activeTasksByAgent()
            #expect(active.mapValues(\.count) == ["a": 2, "b": 2, "c": 2])
        }
    }

    @Test func aTaskNoAgentFitsWaitsWithTheReasonAndIsAssignedAsSoonAsOneFits() async throws {
        try await AssignmentHarness.run { harness in
            try await harness.createTask("translate", capabilities: ["translate"])
            let waiting = try await harness.waitForWaiting("translate", reason: .noAgentWithCapability)
            #expect(waiting.status.conditions[.scheduled]?.message == "no agent offers every required capability (translate)")

            // An agent with the capability that is not Ready: a task arriving now is told that instead.
            try await harness.createAgent("summarizer", capabilities: ["summarize"], phase: .notReady)
            try await harness.createTask("summarize", capabilities: ["summarize"])
            try await harness.waitForWaiting("summarize", reason: .noReadyAgent)

            // The fitting agents appear or recover: the waiting tasks are assigned without any time passing.
            let before = harness.clock.now
            try await harness.createAgent("translator", capabilities: ["translate"])
            #expect(try await harness.waitForAssignment("translate").status.assignedAgent == "translator")
            try await harness.setPhase(.ready, ofAgent: "summarizer")
            #expect(try await harness.waitForAssignment("summarize").status.assignedAgent == "summarizer")
            #expect(harness.clock.now == before)

            // Each waiting reason was written once, however often the task was looked at again.
            let statistics = try await harness.statistics(afterAssignments: 2)
            #expect(statistics.unschedulableConditionsWritten == 2)
            #expect(statistics.assignmentsWritten == 2)
        }
    }

    @Test func manyTasksOnFewSlotsAreEachAssignedOnceAndNoAgentIsOverfilled() async throws {
        try await AssignmentHarness.run { harness in
            let agents = ["w1", "w2", "w3", "w4"]
            for name in agents { try await harness.createAgent(name, slots: 3) }
            let names = (1...40).map { "job-\($0)" }
            for name in names { try await harness.createTask(name) }
            var completed: Set<String> = []
            while completed.count < names.count {
                var holding: [TaskResource] = []
                try await waitUntil("the free slots are filled (\(completed.count) completed)") {
                    holding = try await harness.tasks.list().items.filter { $0.status.effectivePhase.holdsAgent }
                    return holding.count == min(agents.count * 3, names.count - completed.count)
                }
                let perAgent = Dictionary(grouping: holding) { $0.status.assignedAgent ?? "" }.mapValues(\.count)
                #expect(perAgent.values.allSatisfy { $0 <= 3 }, "slots per agent: \(perAgent)")
                for task in holding {
                    try await harness.complete(task.name)
                    completed.insert(task.name)
                }
            }
            let stored = try await harness.tasks.list().items
            #expect(stored.count == names.count)
            #expect(stored.allSatisfy { $0.status.phase == .completed && $0.status.attempt == 1 })
            #expect(try await harness.statistics(afterAssignments: names.count).assignmentsWritten == names.count)
        }
    }

    @Test func aConflictingAssignmentIsReleasedAndTheTaskAssignedOnceFromItsNewerVersion() async throws {
        try await AssignmentHarness.run(interfering: true) { harness in
            try await harness.createAgent("only", slots: 1)
            try await harness.createTask("contested")
            let assigned = try await harness.waitForAssignment("contested")
            #expect(assigned.status.attempt == 1 && assigned.status.assignedAgent == "only")
            #expect(assigned.metadata.annotations?["test/touched"] == "true", "assigned over the newer version")
            let statistics = try await harness.statistics(afterAssignments: 1)
            #expect(statistics.conflicts == 1 && statistics.assignmentsWritten == 1)
            // The conflict's reservation was released and the written one counts once: the slot is taken.
            #expect(await harness.loop.usage(ofAgent: "only")?.tasks == 1)
            try await harness.createTask("next")
            try await harness.waitForWaiting("next", reason: .allAgentsBusy)
        }
    }

    @Test func aFailedAssignmentWriteKeepsItsSlotUntilTheRetryPlacesTheTaskAgain() async throws {
        try await AssignmentHarness.run(failingFirstAssignment: true) { harness in
            try await harness.createAgent("only", slots: 1)
            try await harness.createTask("unlucky")
            try await waitUntil("the write fails") { await harness.loop.statistics.writeErrors == 1 }
            // The write might have landed: the slot stays taken while the retry waits for its backoff.
            #expect(await harness.loop.usage(ofAgent: "only")?.tasks == 1)
            try await harness.createTask("other")
            try await harness.waitForWaiting("other", reason: .allAgentsBusy)
            // The retry (200 ms on the harness's clock) places the task again, on the same slot.
            harness.clock.advance(by: .milliseconds(200))
            let assigned = try await harness.waitForAssignment("unlucky")
            #expect(assigned.status.assignedAgent == "only" && assigned.status.attempt == 1)
            #expect(await harness.loop.usage(ofAgent: "only")?.tasks == 1)
            #expect(try await harness.tasks.get("other").status.effectivePhase == .pending)
        }
    }

    @Test func aPassDoesNotWaitForTheWritesOfTheOneBefore() async throws {
        // The first assignment write waits until the test lets it go; a task created meanwhile is assigned.
        let hold = FirstAssignmentHold()
        try await AssignmentHarness.run(beforeEachWrite: hold.hook) { harness in
            try await harness.createAgent("worker", slots: 2)
            try await harness.createTask("first")
            try await waitUntil("the first write hangs") { hold.isHolding }
            try await harness.createTask("second")
            let second = try await harness.waitForAssignment("second")
            #expect(second.status.assignedAgent == "worker")
            #expect(try await harness.tasks.get("first").status.effectivePhase == .pending, "the first write still hangs")
            hold.releaseWrite()
            let first = try await harness.waitForAssignment("first")
            #expect(first.status.assignedAgent == "worker" && first.status.attempt == 1)
            #expect(try await harness.statistics(afterAssignments: 2).assignmentsWritten == 2)
            #expect(await harness.loop.usage(ofAgent: "worker")?.tasks == 2)
        }
    }

    @Test func aTaskDeletedWhileItsAssignmentIsWrittenGivesItsSlotBack() async throws {
        let hold = FirstAssignmentHold()
        try await AssignmentHarness.run(beforeEachWrite: hold.hook) { harness in
            try await harness.createAgent("only", slots: 1)
            try await harness.createTask("gone")
            try await waitUntil("its write hangs") { hold.isHolding }
            #expect(await harness.loop.usage(ofAgent: "only")?.tasks == 1, "reserved while written")
            try await harness.tasks.delete("gone")
            hold.releaseWrite()
            try await harness.createTask("next")
            let next = try await harness.waitForAssignment("next")
            #expect(next.status.assignedAgent == "only")
            #expect(await harness.loop.usage(ofAgent: "only")?.tasks == 1, "only the next task counts")
        }
    }

    @Test func whileAPassWaitsForRoomToWriteTheWatchesWaitInsteadOfTheQueueGrowing() async throws {
        // One write at a time, and the first assignment write waits until the test lets it go: the pass that
        // decides the next task waits for room to write it.
        let hold = FirstAssignmentHold()
        var configuration = AssignmentLoopConfiguration(maxConcurrentWrites: 1)
        configuration.queueLimit = 8
        try await AssignmentHarness.run(beforeEachWrite: hold.hook, configuration: configuration) { harness in
            try await harness.createAgent("worker", slots: 2)
            try await harness.createTask("first")
            try await waitUntil("the first write hangs") { hold.isHolding }
            try await harness.createTask("second")
            // Placed (its slot reserved), its write waiting for room.
            try await waitUntil("the second task is placed") { await harness.loop.usage(ofAgent: "worker")?.tasks == 2 }

            // Forty agents register meanwhile: forty inputs for a queue that takes eight.
            for index in 0..<40 {
                _ = try await harness.agents.create(Agent(
                    metadata: ObjectMeta(name: "late-\(index)", namespace: AssignmentHarness.namespace),
                    spec: AgentSpec(capabilities: ["echo"])))
            }
            try await waitUntil("the agent cache holds them all") { harness.agentInformer.list().count == 41 }
            // Each of the two watches' forwarders may queue one input past the limit before it waits.
            try await waitUntil("the agent forwarder waits over the limit") { harness.loop.queueDepth > 8 }
            #expect(harness.loop.queueDepth <= 8 + 2, "the queue held \(harness.loop.queueDepth)")

            #expect(try await harness.tasks.get("second").status.effectivePhase == .pending, "written while no room")

            hold.releaseWrite()
            let assigned = try await harness.waitForAssignment("first")
            #expect(assigned.status.assignedAgent == "worker")
            _ = try await harness.waitForAssignment("second")
            let last = try await harness.agents.get("late-39")
            try await waitUntil("the loop took in every agent") {
                await harness.loop.appliedVersion(ofAgent: "late-39") == last.resourceVersion
            }
            try await waitUntil("the queue drained") { harness.loop.queueDepth == 0 }
        }
    }
}

/// What task events mean to the assignment loop, without a server.
@Suite struct AssignmentInputTests {
    private func task(_ phase: TaskPhase?, agent: String? = nil) -> TaskResource {
        TaskResource(metadata: ObjectMeta(name: "t", namespace: "ns"), status: TaskStatus(phase: phase, assignedAgent: agent))
    }

    private func describe(_ inputs: [AssignmentInput]) -> [String] {
        inputs.map { input in
            switch input {
            case .offer(let task): "offer \(task.key)"
            case .agentChanged(let name): "agent \(name)"
            case .agentRemoved(let name): "removed \(name)"
            case .taskEnded(let key): "ended \(key)"
            case .leadership(let leading): "leading \(leading)"
            case .writeReleasedRoom: "room released"
            }
        }
    }

    @Test func aPendingTaskNeedsNothingUntilItIsOffered() {
        #expect(describe(AssignmentInput.inputs(for: .added(task(nil)))).isEmpty)
        #expect(describe(AssignmentInput.inputs(for: .updated(old: task(nil), new: task(.pending)))).isEmpty)
    }

    @Test func anAssignmentChangesItsAgentAndEndsTheWait() {
        let inputs = AssignmentInput.inputs(for: .updated(old: task(.pending), new: task(.assigned, agent: "a")))
        #expect(describe(inputs) == ["agent a", "ended ns/t"])
        // Assigned to Running on the same agent: the agent's held tasks are the same.
        let started = AssignmentInput.inputs(for: .updated(old: task(.assigned, agent: "a"), new: task(.running, agent: "a")))
        #expect(describe(started) == ["ended ns/t"])
    }

    @Test func leavingAnAgentFreesItsSlot() {
        let requeued = AssignmentInput.inputs(for: .updated(old: task(.running, agent: "a"), new: task(.pending)))
        #expect(describe(requeued) == ["agent a", "ended ns/t"])
        let deleted = AssignmentInput.inputs(for: .deleted(task(.running, agent: "a"), finalStateUnknown: false))
        #expect(describe(deleted) == ["agent a", "ended ns/t"])
    }
}
