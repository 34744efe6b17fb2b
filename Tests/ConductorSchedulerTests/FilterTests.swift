import Testing
@testable import ConductorScheduler

@Suite struct FilterTests {
    @Test func aTaskGoesOnlyToAnAgentWithEveryRequiredCapability() {
        var s = scheduler(
            agent("only-a", capabilities: ["a"]),
            agent("only-b", capabilities: ["b"]),
            agent("both", capabilities: ["a", "b", "c"]))
        let outcomes = s.place(task("t1", capabilities: ["a", "b"]), task("t2", capabilities: ["a", "b"]))
        #expect(outcomes["t1"] == .agent("both"))
        #expect(outcomes["t2"] == .agent("both"))
        let t3 = s.place(task("t3", capabilities: ["b"]))["t3"]
        #expect(t3 != .agent("only-a"))
    }

    @Test func aTaskRequiringNoCapabilityGoesToAnyAgent() {
        var s = scheduler(agent("x", capabilities: ["a"], slots: 1))
        let t = s.place(task("t", capabilities: []))["t"]
        #expect(t == .agent("x"))
        let u = s.place(task("u", capabilities: []))["u"]
        #expect(u == .refused(.allAgentsBusy))
    }

    @Test func aFullAgentTakesNoMoreTasksAndTheNextOneIsUsed() {
        var s = scheduler(agent("small", slots: 2), agent("other", capabilities: ["other"]))
        let outcomes = s.place(task("t1"), task("t2"), task("t3"))
        #expect(outcomes["t1"] == .agent("small"))
        #expect(outcomes["t2"] == .agent("small"))
        #expect(outcomes["t3"] == .refused(.allAgentsBusy))
        s.updateAgent(agent("second", slots: 1))
        let t4 = s.place(task("t4"))["t4"]
        #expect(t4 == .agent("second"))
    }

    @Test func theClusterLoadOfAnAgentTakesItsSlots() {
        var s = scheduler(agent("busy", slots: 2, active: ["old1": .none, "old2": .none]), agent("free", slots: 1))
        let t1 = s.place(task("t1"))["t1"]
        #expect(t1 == .agent("free"))
        let t2 = s.place(task("t2"))["t2"]
        #expect(t2 == .refused(.allAgentsBusy))
    }

    @Test func cpuMustFitWhatIsLeftAfterTasksInUse() {
        var s = scheduler(
            agent("small", capacity: ResourceAmounts(cpuMillicores: 1000, memoryBytes: .max)),
            agent("big", capacity: ResourceAmounts(cpuMillicores: 4000, memoryBytes: .max), active: ["old": .cpu(3000)]))
        // big has 1000m left and small 1000m: 1500m fits neither.
        let t1 = s.place(task("t1", resources: .cpu(1500)))["t1"]
        #expect(t1 == .refused(.insufficientResources))
        let t2 = s.place(task("t2", resources: .cpu(1000)))["t2"]
        #expect(t2 != nil)
        let t3 = s.place(task("t3", resources: .cpu(1000)))["t3"]
        #expect(t3 != .refused(.insufficientResources))
        let t4 = s.place(task("t4", resources: .cpu(1)))["t4"]
        #expect(t4 == .refused(.insufficientResources))
    }

    @Test func memoryIsCountedInBytes() {
        let gib: Int64 = 1 << 30
        var s = scheduler(agent("m", capacity: ResourceAmounts(cpuMillicores: .max, memoryBytes: 2 * gib)))
        let t1 = s.place(task("t1", resources: .memory(gib + 1)))["t1"]
        #expect(t1 == .agent("m"))
        let t2 = s.place(task("t2", resources: .memory(gib)))["t2"]
        #expect(t2 == .refused(.insufficientResources))
        let t3 = s.place(task("t3", resources: .memory(gib - 1)))["t3"]
        #expect(t3 == .agent("m"))
    }

    @Test func aGPUTaskNeedsAnAgentWithAFreeGPU() {
        let gpuAgent = ResourceAmounts(cpuMillicores: .max, memoryBytes: .max, gpu: true)
        var s = scheduler(agent("cpu-only"), agent("gpu", capacity: gpuAgent))
        let gpuTask = ResourceAmounts(gpu: true)
        let g1 = s.place(task("g1", resources: gpuTask))["g1"]
        #expect(g1 == .agent("gpu"))
        // The device is held by g1: a second GPU task waits, while a CPU task can still use the agent.
        let g2 = s.place(task("g2", resources: gpuTask))["g2"]
        #expect(g2 == .refused(.insufficientResources))
        s.release("g1")
        let g3 = s.place(task("g3", resources: gpuTask))["g3"]
        #expect(g3 == .agent("gpu"))
    }

    @Test func everyRequiredTagMustBeOnTheAgent() {
        var s = scheduler(
            agent("eu", tags: ["zone-eu"]),
            agent("eu-ssd", tags: ["zone-eu", "ssd"]),
            agent("us-ssd", tags: ["zone-us", "ssd"]))
        for id: TaskID in ["t1", "t2", "t3"] {
            let outcome = s.place(task(id, requiredTags: ["zone-eu", "ssd"]))[id]
            #expect(outcome == .agent("eu-ssd"))
        }
        let t4 = s.place(task("t4", requiredTags: ["gpu-a100"]))["t4"]
        #expect(t4 == .refused(.tagsNotMatched))
    }

    @Test func notReadyAndDrainingAgentsTakeNoTasks() {
        var s = scheduler(agent("down", ready: false), agent("leaving", draining: true))
        let t1 = s.place(task("t1"))["t1"]
        #expect(t1 == .refused(.noReadyAgent))
        s.updateAgent(agent("leaving", draining: false))
        let t2 = s.place(task("t2"))["t2"]
        #expect(t2 == .agent("leaving"))
    }

    @Test func theReasonIsTheMostSpecificAmongCapableAgents() {
        // No agent at all with the capability, even a stopped one.
        var s = scheduler(agent("a", capabilities: ["other"]))
        let t1 = s.place(task("t1", capabilities: ["run"]))["t1"]
        #expect(t1 == .refused(.noAgentWithCapability))
        let t2 = s.place(task("t2", capabilities: ["never-declared"]))["t2"]
        #expect(t2 == .refused(.noAgentWithCapability))

        // One capable agent is down, one lacks the tag, one is full: being full is the closest to fitting.
        s = scheduler(
            agent("down", tags: ["ssd"], ready: false),
            agent("untagged"),
            agent("full", tags: ["ssd"], slots: 1, active: ["old": .none]))
        let t3 = s.place(task("t3", requiredTags: ["ssd"]))["t3"]
        #expect(t3 == .refused(.allAgentsBusy))

        // A free slot without the CPU is closer still.
        s.updateAgent(agent("roomy", tags: ["ssd"], capacity: .cpu(100)))
        let t4 = s.place(task("t4", resources: .cpu(200), requiredTags: ["ssd"]))["t4"]
        #expect(t4 == .refused(.insufficientResources))

        // Only the stopped agent and the untagged one: the tag is what is missing among Ready agents.
        s = scheduler(agent("down", tags: ["ssd"], ready: false), agent("untagged"))
        let t5 = s.place(task("t5", requiredTags: ["ssd"]))["t5"]
        #expect(t5 == .refused(.tagsNotMatched))
    }
}
