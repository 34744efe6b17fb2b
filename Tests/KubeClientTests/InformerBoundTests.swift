import ConductorTestSupport
@testable import KubeClient
import KubeJSON
import Testing

@Suite(.timeLimit(.minutes(1))) struct InformerBoundTests {
    @Test func aStalledSubscriberHoldsTheInformerBackAndLosesNothing() async throws {
        try await withServer { _, client in
            try await applyProjectCRDs(client)
            let tasks = client.resource(taskResource, namespace: "default")
            let informer = try Informer(tasks, backoff: quickBackoff, subscriberBufferLimit: 8)
            let stalled = informer.events()
            let seen = Shared<[String]>([])
            let reader = informer.events()
            let following = Task { for await event in reader { seen.withLock { $0.append(event.object.name) } } }
            let running = RunningInformer(informer)
            try await informer.waitUntilSynced()

            let names = (0..<40).map { "held-\($0)" }
            for name in names { _ = try await tasks.create(task(name)) }

            // Nine events wait unread in the stalled stream (one over its limit): the informer takes in no more.
            try await waitUntil("the informer waits for the stalled subscriber") { informer.isHeldBack }
            #expect(informer.keys.count == 9)
            try await waitUntil("the other subscriber has what the informer took in") { seen.value.count == 9 }
            #expect(informer.keys.count == 9, "held back, the cache does not move on")
            #expect(informer.isHeldBack)

            // Read, the stalled subscriber gets every change in order, and the informer catches up.
            var told: [String] = []
            for await event in stalled {
                told.append(event.object.name)
                if told.count == names.count { break }
            }
            #expect(told == names)
            try await waitUntil("the cache has every task") { informer.keys.count == names.count }
            try await waitUntil("the other subscriber saw every task") { seen.value == names }
            #expect(!informer.isHeldBack)
            await running.stop()
            await following.value
        }
    }

    @Test func whatAKeenSubscriberHasReadIsNeverCountedAsWaiting() async throws {
        // A consumer parked on its stream runs the moment an event is yielded to it, possibly before the informer
        // counted it: counted afterwards, such events stayed "unread" for good, and the informer, once the phantom
        // backlog passed the limit, waited for ever (found in the 10,000-task chaos soak).
        try await withServer { _, client in
            try await applyProjectCRDs(client)
            let tasks = client.resource(taskResource, namespace: "default")
            let informer = try Informer(tasks, backoff: quickBackoff, subscriberBufferLimit: 64)
            let seen = Shared(0)
            let reader = informer.events()
            let following = Task { for await _ in reader { seen.withLock { $0 += 1 } } }
            let running = RunningInformer(informer)
            try await informer.waitUntilSynced()
            try await withThrowingTaskGroup(of: Void.self) { group in
                for writer in 0..<4 {
                    group.addTask { for index in 0..<100 { _ = try await tasks.create(task("keen-\(writer)-\(index)")) } }
                }
                try await group.waitForAll()
            }
            try await waitUntil("the subscriber read every event") { seen.value == 400 }
            #expect(informer.largestSubscriberBacklog == 0)
            #expect(!informer.isHeldBack)
            await running.stop()
            await following.value
        }
    }

    @Test func aSubscriberThatLeavesNeverHoldsTheInformerBack() async throws {
        try await withServer { _, client in
            try await applyProjectCRDs(client)
            let tasks = client.resource(taskResource, namespace: "default")
            let informer = try Informer(tasks, backoff: quickBackoff, subscriberBufferLimit: 2)
            let running = RunningInformer(informer)
            try await informer.waitUntilSynced()
            // A subscriber that reads one event and stops: its stream ends, and with it its budget.
            let leaving = Task { for await _ in informer.events() { break } }
            _ = try await tasks.create(task("first"))
            await leaving.value
            for index in 0..<10 { _ = try await tasks.create(task("after-\(index)")) }
            try await waitUntil("the cache has every task") { informer.keys.count == 11 }
            #expect(!informer.isHeldBack)
            await running.stop()
        }
    }

    @Test func aTransformShapesWhatIsCachedAndTold() async throws {
        try await withServer { _, client in
            try await applyProjectCRDs(client)
            let tasks = client.resource(taskResource, namespace: "default")
            _ = try await tasks.create(task("listed"))
            let informer = try Informer(tasks, backoff: quickBackoff, transform: { object in
                var view = object
                view["spec"]?["payload"] = nil
                return view
            })
            let running = RunningInformer(informer)
            try await informer.waitUntilSynced()
            let events = informer.events()
            _ = try await tasks.create(task("watched"))
            try await waitUntil("both are cached") { informer.keys.count == 2 }

            for object in informer.list() {
                #expect(object[path: ["spec", "payload"]] == nil, "\(object.key)")
                #expect(object[path: ["spec", "priority"]] == 5, "the rest is kept")
            }
            var told: [String] = []
            for await event in events {
                #expect(event.object[path: ["spec", "payload"]] == nil)
                told.append(event.object.name)
                if told.count == 2 { break }
            }
            #expect(told == ["listed", "watched"])
            #expect(try await tasks.get("watched")[path: ["spec", "payload"]] == ["n": 1], "the server keeps it")
            await running.stop()
        }
    }

    @Test func aBufferLimitBelowOneIsRefused() async throws {
        try await withServer { _, client in
            #expect(throws: InformerError.invalidBufferLimit(0)) {
                _ = try Informer(client.resource(taskResource, namespace: "default"), subscriberBufferLimit: 0)
            }
        }
    }
}
