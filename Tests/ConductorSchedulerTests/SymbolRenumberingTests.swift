import Testing
@testable import ConductorScheduler

@Suite struct SymbolRenumberingTests {
    @Test func namesOfAgentsThatCameAndWentDoNotPileUpAndDecisionsHoldAcrossRenumbering() {
        var s = scheduler(agent("steady", capabilities: ["run"], tags: ["zone-a"]))
        // Waiting across every renumbering: one for a capability no agent has yet, one for a tag none has.
        let refused = s.place(task("rare", capabilities: ["rare"]), task("tagged", requiredTags: ["gpu-node"]))
        #expect(refused["rare"] == .refused(.noAgentWithCapability))
        #expect(refused["tagged"] == .refused(.tagsNotMatched))

        // Pods with names of their own come and go: two new names each, a thousand in all.
        var largest = 0
        for index in 0..<500 {
            s.updateAgent(agent("pod-\(index)", capabilities: ["run", "cap-\(index)"], tags: ["pod-\(index)"]))
            largest = max(largest, s.internedNameCount)
            s.removeAgent(named: "pod-\(index)")
        }
        #expect(largest <= 66, "renumbered once past 64 names: \(largest)")
        s.renumberSymbols()
        // What is left: the steady agent's "run" and "zone-a", and "rare", the key the waiting task waits under.
        #expect(s.internedNameCount == 3)

        // The waiting tasks still wait under the right names, and placement still finds the steady agent.
        #expect(s.place(task("plain"))["plain"] == .agent("steady"))
        s.updateAgent(agent("gpu", capabilities: ["run"], tags: ["gpu-node"]))
        #expect(s.reofferedIDs() == ["tagged"])
        s.updateAgent(agent("special", capabilities: ["rare"]))
        #expect(s.reofferedIDs() == ["rare"])
        #expect(s.waitingTaskCount == 0)
    }
}
