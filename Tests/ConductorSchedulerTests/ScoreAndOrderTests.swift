import Testing
@testable import ConductorScheduler

@Suite struct ScoreAndOrderTests {
    @Test func theLeastLoadedAgentWins() {
        var s = scheduler(
            agent("half", slots: 4, active: ["x1": .none, "x2": .none]),
            agent("quarter", slots: 4, active: ["y1": .none]),
            agent("big-quarter", slots: 8, active: ["z1": .none, "z2": .none]))
        // quarter and big-quarter are both 25% used and half is 50%. Whichever of the two takes t1 becomes busier
        // than the other (50% or 37.5%), so t2 goes to the other one, and half gets neither.
        let first = s.place(task("t1"))["t1"]
        let second = s.place(task("t2"))["t2"]
        #expect(Set([first, second]) == [.agent("quarter"), .agent("big-quarter")])
    }

    @Test func anAgentWhoseCPUIsSpentCountsAsBusyEvenWithFreeSlots() {
        let fourCores = ResourceAmounts(cpuMillicores: 4000, memoryBytes: .max)
        var s = scheduler(
            agent("cpu-bound", slots: 8, capacity: fourCores, active: ["big": .cpu(3000)]),
            agent("half-slots", slots: 4, capacity: fourCores, active: ["x": .none, "y": .none]))
        // cpu-bound has 7 of 8 slots free but 75% of its CPU used; half-slots has half of each dimension free.
        let t1 = s.place(task("t1", resources: .cpu(100)))["t1"]
        #expect(t1 == .agent("half-slots"))
    }

    @Test func equalAgentsAreUsedInTurn() {
        var s = scheduler(agent("a", slots: 10), agent("b", slots: 10), agent("c", slots: 10))
        let batch = (1...6).map { task(TaskID("t\($0)")) }
        var perAgent: [String: Int] = [:]
        for case .assign(_, let agent) in s.schedule(batch: batch, now: .seconds(0)) {
            perAgent[agent, default: 0] += 1
        }
        #expect(perAgent == ["a": 2, "b": 2, "c": 2])
    }

    @Test func theSameInputsGiveTheSameDecisions() {
        func run() -> [SchedulingDecision] {
            var s = scheduler(
                agent("a", slots: 3), agent("b", tags: ["x"], slots: 3), agent("c", slots: 2), agent("d", slots: 5))
            let batch = (1...12).map { task(TaskID("t\($0)"), priority: $0 % 3 + 1, preferredTags: $0 % 4 == 0 ? ["x"] : []) }
            return s.schedule(batch: batch, now: .seconds(5))
        }
        #expect(run() == run())
    }

    @Test func aPreferredTagWinsOverAnEqualAgentAndAnAvoidedOneLoses() {
        var s = scheduler(agent("plain"), agent("fast", tags: ["fast"]), agent("shared", tags: ["shared"]))
        let t1 = s.place(task("t1", preferredTags: ["fast"]))["t1"]
        #expect(t1 == .agent("fast"))
        // fast is now a quarter busier but still has the preferred tag (worth half an agent by default).
        let t2 = s.place(task("t2", preferredTags: ["fast"]))["t2"]
        #expect(t2 == .agent("fast"))
        let t3 = s.place(task("t3", avoidedTags: ["shared"]))["t3"]
        #expect(t3 == .agent("plain"))
    }

    @Test func aPreferredTagLosesToAMuchLessLoadedAgent() {
        var s = scheduler(
            agent("preferred-but-busy", tags: ["fast"], slots: 4, active: ["a": .none, "b": .none, "c": .none]),
            agent("idle", slots: 4))
        // 75% busy plus 0.5 for the tag scores 0.75, below the idle agent's 1.0.
        let t1 = s.place(task("t1", preferredTags: ["fast"]))["t1"]
        #expect(t1 == .agent("idle"))
    }

    @Test func anAvoidedTagNeverRulesAnAgentOut() {
        var s = scheduler(agent("shared", tags: ["shared"], slots: 1))
        let t1 = s.place(task("t1", avoidedTags: ["shared"]))["t1"]
        #expect(t1 == .agent("shared"))
    }

    @Test func higherPriorityIsPlacedFirstThenOlder() {
        var s = scheduler(agent("one", slots: 2))
        let outcomes = s.place(
            task("low", priority: 1, createdAtSecond: 0),
            task("high-new", priority: 9, createdAtSecond: 10),
            task("high-old", priority: 9, createdAtSecond: 5),
            atSecond: 10)
        #expect(outcomes["high-old"] == .agent("one"))
        #expect(outcomes["high-new"] == .agent("one"))
        #expect(outcomes["low"] == .refused(.allAgentsBusy))
    }

    @Test func aLongWaitingLowPriorityTaskOvertakesANewUrgentOne() {
        /// A priority-1 task created at second 0 and a priority-10 one created at `second` race for one slot then.
        func race(atSecond second: Int64) -> [TaskID: Outcome] {
            var s = scheduler(agent("one", slots: 1), policy: SchedulingPolicy(agingInterval: .seconds(10)))
            return s.place(
                task("old-low", priority: 1, createdAtSecond: 0),
                task("new-urgent", priority: 10, createdAtSecond: second),
                atSecond: second)
        }
        // At second 80 the old task has waited 8 intervals: 1 + 8 = 9 < 10, so the urgent one still goes first.
        let before = race(atSecond: 80)
        #expect(before["new-urgent"] == .agent("one"))
        #expect(before["old-low"] == .refused(.allAgentsBusy))
        // At second 100 it has waited 10 intervals: 1 + 10 = 11 > 10.
        let after = race(atSecond: 100)
        #expect(after["old-low"] == .agent("one"))
        #expect(after["new-urgent"] == .refused(.allAgentsBusy))
    }

    @Test func withoutAgingPriorityAloneDecides() {
        var s = scheduler(agent("one", slots: 1), policy: SchedulingPolicy(agingInterval: nil))
        let outcomes = s.place(
            task("old-low", priority: 1, createdAtSecond: 0), task("new-urgent", priority: 10, createdAtSecond: 10_000),
            atSecond: 10_000)
        #expect(outcomes["new-urgent"] == .agent("one"))
    }
}
