import Testing
@testable import ConductorScheduler

@Suite struct ReofferTests {
    @Test func aWaitingTaskIsOfferedAgainWhenASlotIsReleased() {
        var s = scheduler(agent("a", slots: 1))
        _ = s.place(task("running"))
        let waiting = s.place(task("waiting"))["waiting"]
        #expect(waiting == .refused(.allAgentsBusy))
        #expect(s.waitingTaskCount == 1)
        #expect(!s.mayHaveTasksToReoffer)
        s.release("running")
        #expect(s.mayHaveTasksToReoffer)
        let offered = s.takeTasksToReoffer(now: .seconds(1))
        #expect(offered.map(\.id) == ["waiting"])
        #expect(s.waitingTaskCount == 0)
        let decisions = s.schedule(batch: offered, now: .seconds(1))
        #expect(decisions == [.assign(task: "waiting", agent: "a")])
    }

    @Test func aSnapshotThatFreesASlotOffersTheWaitingTask() {
        var s = scheduler(agent("a", slots: 1, active: ["old": .none]))
        _ = s.place(task("waiting"))
        // The same view again frees nothing.
        s.updateAgent(agent("a", slots: 1, active: ["old": .none]))
        let afterSameView = s.reofferedIDs()
        #expect(afterSameView.isEmpty)
        s.updateAgent(agent("a", slots: 1))
        let afterSlotFreed = s.reofferedIDs()
        #expect(afterSlotFreed == ["waiting"])
    }

    @Test func aNewOrRecoveredAgentWithTheCapabilityOffersTheWaitingTask() {
        var s = scheduler(agent("down", ready: false))
        _ = s.place(task("t1", capabilities: ["run"]), task("t2", capabilities: ["rare"]))
        s.updateAgent(agent("down", ready: true))
        let afterRecovery = s.reofferedIDs()
        #expect(afterRecovery == ["t1"])
        s.updateAgent(agent("new", capabilities: ["rare"]))
        let afterNewAgent = s.reofferedIDs()
        #expect(afterNewAgent == ["t2"])
    }

    @Test func onlyAsManyAsTheRoomHoldsAreOfferedBestFirst() {
        var s = scheduler(agent("a", slots: 2, active: ["x": .none, "y": .none]))
        _ = s.place(
            task("low", priority: 2), task("high", priority: 8), task("mid", priority: 5),
            task("elsewhere", capabilities: ["other"]))
        s.updateAgent(agent("a", slots: 2, active: ["x": .none]))
        let oneSlotFreed = s.reofferedIDs()
        #expect(oneSlotFreed == ["high"])
        #expect(s.waitingTaskCount == 3)
        s.updateAgent(agent("a", slots: 2))
        let bothFreed = s.reofferedIDs()
        #expect(bothFreed == ["mid", "low"])
    }

    @Test func aTaskThatStillDoesNotFitStaysWaiting() {
        var s = scheduler(agent("a", slots: 2, capacity: .cpu(1000), active: ["x": .cpu(1000)]))
        _ = s.place(task("big", resources: .cpu(2000)), task("small", resources: .cpu(10)))
        #expect(s.waitingTaskCount == 2)
        s.updateAgent(agent("a", slots: 2, capacity: .cpu(1000)))
        let fitting = s.reofferedIDs()
        #expect(fitting == ["small"])
        #expect(s.waitingTaskCount == 1)
    }

    @Test func aWithdrawnTaskIsNotOffered() {
        var s = scheduler(agent("a", slots: 1, active: ["x": .none]))
        _ = s.place(task("cancelled"))
        s.withdraw("cancelled")
        s.release("x")
        let afterWithdrawal = s.reofferedIDs()
        #expect(afterWithdrawal.isEmpty)
        #expect(s.waitingTaskCount == 0)
    }

    @Test func anAssignedTaskStopsWaiting() {
        var s = scheduler(agent("a", slots: 1, active: ["x": .none]))
        _ = s.place(task("t"))
        s.updateAgent(agent("b", slots: 1))
        let t = s.place(task("t"))["t"]
        #expect(t == .agent("b"))
        #expect(s.waitingTaskCount == 0)
    }

    @Test func aTaskWaitingForATagNoAgentHadIsOfferedWhenOneGetsIt() {
        var s = scheduler(agent("a"))
        let t = s.place(task("t", requiredTags: ["new-zone"]))["t"]
        #expect(t == .refused(.tagsNotMatched))
        s.updateAgent(agent("a", tags: ["new-zone"]))
        let afterTagAdded = s.reofferedIDs()
        #expect(afterTagAdded == ["t"])
    }
}
