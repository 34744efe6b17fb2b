import Foundation
import KubeJSON
import Testing
@testable import LocalAPIServer

@Suite struct WatcherIndexTests {
    static let agent = ["status", "assignedAgent"]

    func event(_ resource: String = "mcp.io/tasks", agent: String?, before: String?? = .none) -> StoreEvent {
        func object(_ agent: String?) -> JSON {
            ["metadata": ["name": "t"], "status": agent.map { ["assignedAgent": .string($0)] } ?? [:]]
        }
        return StoreEvent(revision: 1, kind: before == nil ? .added : .modified, resource: resource, namespace: "ns", name: "t",
                          object: object(agent), previous: before.map(object))
    }

    func concerned(_ index: WatcherIndex, _ event: StoreEvent) -> [Int] {
        var ids: [Int] = []
        index.forEachWatcher(of: event) { ids.append($0) }
        return ids.sorted()
    }

    @Test func aChangeVisitsTheUnpinnedWatchesOfItsResourceAndThePinsItHadOrHas() {
        var index = WatcherIndex()
        index.insert(0, resource: "mcp.io/tasks", pin: nil)
        index.insert(1, resource: "mcp.io/tasks", pin: .init(path: Self.agent, value: "a"))
        index.insert(2, resource: "mcp.io/tasks", pin: .init(path: Self.agent, value: "b"))
        index.insert(3, resource: "mcp.io/tasks", pin: .init(path: Self.agent, value: ""))
        index.insert(4, resource: "mcp.io/agents", pin: nil)

        #expect(concerned(index, event(agent: "a")) == [0, 1])
        #expect(concerned(index, event(agent: nil)) == [0, 3], "a missing field reads as the empty string")
        #expect(concerned(index, event(agent: "b", before: "a")) == [0, 1, 2], "left a, entered b")
        #expect(concerned(index, event(agent: "a", before: "a")) == [0, 1], "each watch once")
        #expect(concerned(index, event(agent: "c", before: .some(nil))) == [0, 3], "left the empty value")
        #expect(concerned(index, event("mcp.io/agents", agent: "a")) == [4])
        #expect(concerned(index, event("v1/pods", agent: "a")) == [])
    }

    @Test func removingEveryWatchLeavesNothingBehind() {
        var index = WatcherIndex()
        let pins: [WatcherIndex.Pin?] = [nil, .init(path: Self.agent, value: "a"), .init(path: Self.agent, value: "a"),
                                         .init(path: ["metadata", "name"], value: "t")]
        for (id, pin) in pins.enumerated() { index.insert(id, resource: "mcp.io/tasks", pin: pin) }
        index.remove(1, resource: "mcp.io/tasks", pin: pins[1])
        #expect(concerned(index, event(agent: "a")) == [0, 2, 3])
        for (id, pin) in pins.enumerated() { index.remove(id, resource: "mcp.io/tasks", pin: pin) }
        #expect(index.isEmpty)
        #expect(concerned(index, event(agent: "a")) == [])
    }
}

@Suite struct PinnedWatches {
    @Test func aPinnedWatchIsHandedOnlyTheChangesOfObjectsThatHadOrHaveItsValue() async throws {
        let directory = NSTemporaryDirectory() + "store-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let store = try ObjectStore(directory: directory)
        let pinned = try store.watch("g/things", namespace: nil, from: .after(0), pin: .init(path: ["spec", "agent"], value: "a"))
        let everything = try store.watch("g/things", namespace: nil, from: .after(0))
        func put(_ name: String, _ agent: String) throws {
            _ = try store.mutate("g/things", namespace: "ns", name: name) { _ throws(APIError) -> Mutation in
                .put(["metadata": ["name": .string(name)], "spec": ["agent": .string(agent)]])
            }
        }
        try put("x", "a")   // 1: has a
        try put("y", "b")   // 2: never had a
        try put("x", "b")   // 3: had a
        try put("y", "a")   // 4: has a
        _ = try store.mutate("g/things", namespace: "ns", name: "y") { _ throws(APIError) -> Mutation in .delete }   // 5: had a
        func revisions(_ subscription: WatchSubscription, _ count: Int) async -> [Int64] {
            var seen: [Int64] = []
            for await signal in subscription.signals {
                if case .change(let event) = signal { seen.append(event.revision) }
                if seen.count == count { break }
            }
            return seen
        }
        #expect(await revisions(everything, 5) == [1, 2, 3, 4, 5])
        // Revision 5 is the last one there is: had revision 2 reached the pinned watch, it would stand before it.
        #expect(await revisions(pinned, 4) == [1, 3, 4, 5])
    }
}
