import Testing
@testable import ConductorScheduler

@Suite struct AccountingTests {
    @Test func anAssignmentTakesItsSlotAndResourcesForTheRestOfTheBatchAndTheNext() {
        var s = scheduler(agent("a", slots: 3, capacity: ResourceAmounts(cpuMillicores: 1000, memoryBytes: .max)))
        let batch = s.place(task("t1", resources: .cpu(600)), task("t2", resources: .cpu(600)), task("t3"))
        #expect(batch["t1"] == .agent("a"))
        #expect(batch["t2"] == .refused(.insufficientResources))
        #expect(batch["t3"] == .agent("a"))
        #expect(s.usage(ofAgent: "a") == AgentUsage(tasks: 2, cpuMillicores: 600))
        let t4 = s.place(task("t4", resources: .cpu(400)))["t4"]
        #expect(t4 == .agent("a"))
        let t5 = s.place(task("t5"))["t5"]
        #expect(t5 == .refused(.allAgentsBusy))
    }

    @Test func releasingAfterAFailedWriteFreesTheSlotOnce() {
        var s = scheduler(agent("a", slots: 1))
        let t1 = s.place(task("t1"))["t1"]
        #expect(t1 == .agent("a"))
        #expect(s.placement(of: "t1") == .reserved(agent: "a", written: false))
        let freed = s.release("t1")
        #expect(freed)
        let freedAgain = s.release("t1")
        #expect(!freedAgain)
        #expect(s.placement(of: "t1") == nil)
        #expect(s.usage(ofAgent: "a")?.tasks == 0)
        let t2 = s.place(task("t2"))["t2"]
        #expect(t2 == .agent("a"))
        #expect(s.usage(ofAgent: "a")?.tasks == 1)
    }

    @Test func aConfirmedReservationCountsUntilTheSnapshotListsIt() {
        var s = scheduler(agent("a", slots: 2))
        _ = s.place(task("t1"))
        let confirmedReserved = s.confirm("t1")
        #expect(confirmedReserved)
        let confirmedUnknown = s.confirm("unknown")
        #expect(!confirmedUnknown)
        #expect(s.placement(of: "t1") == .reserved(agent: "a", written: true))
        // A snapshot from before the write lands: t1 still counts, once.
        s.updateAgent(agent("a", slots: 2))
        #expect(s.usage(ofAgent: "a")?.tasks == 1)
        s.updateAgent(agent("a", slots: 2, active: ["t1": .none]))
        #expect(s.placement(of: "t1") == .active(agent: "a"))
        #expect(s.usage(ofAgent: "a")?.tasks == 1)
    }

    @Test func applyingTheSameSnapshotAgainCountsNothingTwice() {
        var s = scheduler(agent("a", slots: 2, capacity: .cpu(1000)))
        _ = s.place(task("t1", resources: .cpu(500)))
        let seen = agent("a", slots: 2, capacity: .cpu(1000), active: ["t1": .cpu(500)])
        for _ in 0..<3 { s.updateAgent(seen) }
        #expect(s.usage(ofAgent: "a") == AgentUsage(tasks: 1, cpuMillicores: 500))
        // Exactly one slot is left.
        let t2 = s.place(task("t2", resources: .cpu(500)))["t2"]
        #expect(t2 == .agent("a"))
        let t3 = s.place(task("t3"))["t3"]
        #expect(t3 == .refused(.allAgentsBusy))
        for _ in 0..<3 { s.updateAgent(seen) }
        #expect(s.usage(ofAgent: "a") == AgentUsage(tasks: 2, cpuMillicores: 1000))
    }

    @Test func aReleasedTaskStillListedByAStaleSnapshotDoesNotCountAgain() {
        var s = scheduler(agent("a", slots: 1, active: ["t1": .none]))
        #expect(s.usage(ofAgent: "a")?.tasks == 1)
        // t1 completed: the task watch tells the controller before the agent's view drops it.
        let freedListed = s.release("t1")
        #expect(freedListed)
        #expect(s.usage(ofAgent: "a")?.tasks == 0)
        s.updateAgent(agent("a", slots: 1, active: ["t1": .none]))
        #expect(s.usage(ofAgent: "a")?.tasks == 0)
        s.updateAgent(agent("a", slots: 1))
        #expect(s.usage(ofAgent: "a")?.tasks == 0)
        // Dropped from the listing, t1 is forgotten: if it shows up again it counts again.
        s.updateAgent(agent("a", slots: 1, active: ["t1": .none]))
        #expect(s.usage(ofAgent: "a")?.tasks == 1)
    }

    @Test func aTaskOfferedAgainLeavesItsPreviousAgent() {
        var s = scheduler(agent("lost", slots: 1, active: ["t1": .none]), agent("b", capabilities: ["other"]))
        // lost's agent died and t1 went back to Pending; its stale snapshot still lists t1.
        s.updateAgent(agent("lost", slots: 1, ready: false, active: ["t1": .none]))
        s.updateAgent(agent("b", slots: 1))
        let t1 = s.place(task("t1"))["t1"]
        #expect(t1 == .agent("b"))
        #expect(s.usage(ofAgent: "lost")?.tasks == 0)
        #expect(s.usage(ofAgent: "b")?.tasks == 1)
        // The stale listing arriving again changes nothing: the newer reservation on b wins.
        s.updateAgent(agent("lost", slots: 1, active: ["t1": .none]))
        #expect(s.usage(ofAgent: "lost")?.tasks == 0)
        #expect(s.placement(of: "t1") == .reserved(agent: "b", written: false))
    }

    @Test func aListingThatFirstAppearsAfterAReservationElsewhereIsStale() {
        var s = scheduler(agent("a", slots: 1), agent("b", capabilities: ["other"], slots: 1))
        let t1 = s.place(task("t1"))["t1"]
        #expect(t1 == .agent("a"))
        // b's view, built while an earlier attempt of t1 ran there, arrives only now.
        s.updateAgent(agent("b", capabilities: ["run"], slots: 1, active: ["t1": .none]))
        #expect(s.placement(of: "t1") == .reserved(agent: "a", written: false))
        #expect(s.usage(ofAgent: "b")?.tasks == 0)
        let t2 = s.place(task("t2"))["t2"]
        #expect(t2 == .agent("b"))
    }

    @Test func aListingThatDeferredToAReservationCountsOnceTheReservationIsReleased() {
        var s = scheduler(agent("a", slots: 1), agent("b", capabilities: ["other"], slots: 1))
        _ = s.place(task("t1"))
        // For a moment two replicas led: the other assigned t1 to b, and b's view lists it while this replica's
        // reservation on a stands. The listing defers to the reservation.
        s.updateAgent(agent("b", capabilities: ["run"], slots: 1, active: ["t1": .none]))
        #expect(s.usage(ofAgent: "b")?.tasks == 0)
        // This replica's write meets the other's (409): its reservation goes, and b's listing counts t1.
        let released = s.release("t1")
        #expect(released)
        #expect(s.placement(of: "t1") == .active(agent: "b"))
        #expect(s.usage(ofAgent: "a")?.tasks == 0)
        #expect(s.usage(ofAgent: "b")?.tasks == 1)
        // b is full, so t2 goes to a, and t3 finds no room: b is not overbooked.
        let placed = s.place(task("t2"), task("t3"))
        #expect(placed["t2"] == .agent("a"))
        #expect(placed["t3"] == .refused(.allAgentsBusy))
        // When b's view drops t1, its slot is free again.
        s.updateAgent(agent("b", capabilities: ["run"], slots: 1))
        #expect(s.usage(ofAgent: "b")?.tasks == 0)
        #expect(s.placement(of: "t1") == nil)
    }

    @Test func aTaskPlacedAgainDoesNotHandItsCountToADeferredListing() {
        var s = scheduler(agent("a", slots: 1), agent("b", capabilities: ["other"], slots: 1), agent("c", slots: 1))
        let t1 = s.place(task("t1"))["t1"]
        // b, which cannot run t1 now, lists it from the other leader's assignment.
        s.updateAgent(agent("b", capabilities: ["other"], slots: 1, active: ["t1": .none]))
        // Offered again (its agent was lost, say): it leaves its reservation for a new placement, not for b.
        let again = s.place(task("t1"))["t1"]
        #expect(again != nil && again != .refused(.allAgentsBusy))
        #expect(s.usage(ofAgent: "b")?.tasks == 0)
        let counted = ["a", "c"].compactMap { s.usage(ofAgent: $0)?.tasks }.reduce(0, +)
        #expect(counted == 1, "t1 counts once, where it was placed again (first on \(String(describing: t1)))")
    }

    @Test func aTaskPlacedAgainOnTheAgentStillListingItCountsOnce() {
        var s = scheduler(agent("a", slots: 1, active: ["t1": .none]))
        // t1's attempt failed and it went back to Pending; a's view still lists it.
        s.release("t1")
        let t1 = s.place(task("t1"))["t1"]
        #expect(t1 == .agent("a"))
        #expect(s.usage(ofAgent: "a")?.tasks == 1)
        let t2 = s.place(task("t2"))["t2"]
        #expect(t2 == .refused(.allAgentsBusy))
    }

    @Test func aTaskListedByTwoAgentsCountsOnlyOnTheLatest() {
        var s = scheduler(agent("a", slots: 2, active: ["t1": .none]))
        s.updateAgent(agent("b", slots: 2, active: ["t1": .none]))
        #expect(s.usage(ofAgent: "a")?.tasks == 0)
        #expect(s.usage(ofAgent: "b")?.tasks == 1)
        #expect(s.placement(of: "t1") == .active(agent: "b"))
    }

    @Test func removingAnAgentReturnsItsReservationsAndForgetsItsTasks() {
        var s = scheduler(agent("a", slots: 3, active: ["running": .none]))
        _ = s.place(task("t1"), task("t2"))
        let reservedThere = s.removeAgent(named: "a")
        #expect(reservedThere == ["t1", "t2"])
        #expect(s.agentCount == 0)
        #expect(s.placement(of: "t1") == nil)
        #expect(s.placement(of: "running") == nil)
        let t3 = s.place(task("t3"))["t3"]
        #expect(t3 == .refused(.noAgentWithCapability))
        // Its slot is reused by a new agent with nothing counted.
        s.updateAgent(agent("fresh", slots: 1))
        #expect(s.usage(ofAgent: "fresh")?.tasks == 0)
        let t4 = s.place(task("t4"))["t4"]
        #expect(t4 == .agent("fresh"))
    }

    @Test func anAgentLosingACapabilityLeavesItsIndex() {
        var s = scheduler(agent("a", capabilities: ["x", "y"]))
        s.updateAgent(agent("a", capabilities: ["y"]))
        let t1 = s.place(task("t1", capabilities: ["x"]))["t1"]
        #expect(t1 == .refused(.noAgentWithCapability))
        let t2 = s.place(task("t2", capabilities: ["y"]))["t2"]
        #expect(t2 == .agent("a"))
    }
}
