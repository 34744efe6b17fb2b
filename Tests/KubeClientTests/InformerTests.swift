import Foundation
@testable import KubeClient
import KubeJSON
import Synchronization
import Testing

/// Runs an informer on a task of its own until `stop()`.
final class RunningInformer<Object: KubeObject>: Sendable {
    let informer: Informer<Object>
    private let runner: Task<Void, any Error>

    init(_ informer: Informer<Object>) {
        self.informer = informer
        runner = Task { try await informer.run() }
    }

    func stop() async {
        runner.cancel()
        _ = await runner.result
    }
}

/// What a handler saw, checked as it comes: an add only for a key it does not hold, an update or a delete
/// only for one it does, an update only from the version it holds to another. What it ends with must be
/// the server's state.
struct EventReplica {
    private(set) var versions: [String: String] = [:]
    private(set) var problems: [String] = []
    private var told = Set<String>()
    private(set) var count = 0

    mutating func take(_ event: InformerEvent<JSON>) {
        count += 1
        let object = event.object
        let key = object.key, version = object.resourceVersion ?? ""
        switch event {
        case .added:
            if versions[key] != nil { problems.append("added \(key)@\(version) while holding \(versions[key]!)") }
            versions[key] = version
        case .updated(let old, _):
            if versions[key] != old.resourceVersion { problems.append("updated \(key) from \(old.resourceVersion ?? "") while holding \(versions[key] ?? "nothing")") }
            if old.resourceVersion == version { problems.append("updated \(key) to the version it had, \(version)") }
            versions[key] = version
        case .deleted:
            if versions[key] == nil { problems.append("deleted \(key), which it did not hold") }
            versions[key] = nil
        }
        if case .deleted = event { return }
        // The same state told twice is a repeat, whatever came between.
        if !told.insert("\(key)@\(version)").inserted { problems.append("told \(key)@\(version) twice") }
    }
}

/// key → resourceVersion of a list.
func versions(_ objects: [JSON]) -> [String: String] {
    Dictionary(uniqueKeysWithValues: objects.map { ($0.key, $0.resourceVersion ?? "") })
}

@Suite(.timeLimit(.minutes(4))) struct InformerTests {
    @Test func indexesAndHasSynced() async throws {
        try await withServer { _, client in
            try await applyProjectCRDs(client)
            _ = try await client.resource(.namespaces).create(["apiVersion": "v1", "kind": "Namespace", "metadata": ["name": "other"]])
            let inDefault = client.resource(taskResource, namespace: "default")
            let inOther = client.resource(taskResource, namespace: "other")
            _ = try await inDefault.create(task("a", capability: "echo", labels: ["team": "blue"]))
            _ = try await inDefault.create(task("b", capability: "sum", labels: ["team": "red"]))
            _ = try await inOther.create(task("c", capability: "echo", labels: ["team": "blue"]))
            _ = try await inOther.create(task("d", capability: "echo"))

            let capability = InformerIndex<JSON>("capability") { $0[path: ["spec", "requiredCapabilities"]]?.array?.compactMap(\.string) ?? [] }
            let informer = try Informer(client.resource(taskResource), indexes: [.label("team"), capability])
            #expect(!informer.hasSynced)
            #expect(throws: InformerError.duplicateIndex("namespace")) { try informer.addIndex(.namespace) }
            let running = RunningInformer(informer)
            try await informer.waitUntilSynced()
            #expect(informer.hasSynced)
            #expect(informer.keys == ["default/a", "default/b", "other/c", "other/d"])
            #expect(try informer.byIndex(.namespace, "other").map(\.key) == ["other/c", "other/d"])
            #expect(try informer.byIndex("label:team", "blue").map(\.key) == ["default/a", "other/c"])
            #expect(try informer.byIndex("capability", "echo").map(\.key) == ["default/a", "other/c", "other/d"])
            #expect(try informer.indexValues("label:team") == ["blue", "red"])
            #expect(throws: InformerError.unknownIndex("label:owner", known: ["capability", "label:team", "namespace"])) {
                try informer.byIndex("label:owner", "x")
            }

            // Changes move objects between index values; none stays filed where it no longer belongs.
            _ = try await inDefault.patch("a", .merge(["metadata": ["labels": ["team": "red"]]]))
            try await inOther.delete("c")
            try await waitUntil("the informer saw the changes") {
                (try? informer.byIndex("label:team", "red").map(\.key)) == ["default/a", "default/b"] && informer.get("other/c") == nil
            }
            #expect(try informer.byIndex("label:team", "blue").isEmpty)
            #expect(try informer.indexValues("label:team") == ["red"])
            #expect(try informer.byIndex("capability", "echo").map(\.key) == ["default/a", "other/d"])
            // An index added late files what is there already.
            try informer.addIndex(InformerIndex("name") { [$0.name] })
            #expect(try informer.byIndex("name", "d").map(\.key) == ["other/d"])

            await #expect(throws: InformerError.alreadyStarted(resource: "tasks")) { try await informer.run() }
            await running.stop()
            // A stopped informer ends its streams at once.
            var late: [String] = []
            for await event in informer.events() { late.append(event.object.key) }
            #expect(late == ["default/a", "default/b", "other/d"])
        }
    }

    @Test func waitingForSyncEndsWithCancellationOrStop() async throws {
        try await withServer { _, client in
            // Never run: the wait ends only when its task is cancelled.
            let idle = try Informer(client.resource(Lease.self, namespace: "default"))
            let waiter = Task { try await idle.waitUntilSynced() }
            waiter.cancel()
            await #expect(throws: CancellationError.self) { try await waiter.value }

            // Run and stopped before it could list (no such resource): waiters hear that it stopped.
            let missing = client.resource(ResourceDescriptor(group: "example.com", version: "v1", plural: "widgets", kind: "Widget", namespaced: true))
            let never = try Informer(missing, backoff: quickBackoff)
            let running = RunningInformer(never)
            let stopped = Task { try await never.waitUntilSynced() }
            await running.stop()
            await #expect(throws: InformerError.stopped(resource: "widgets")) { try await stopped.value }
            #expect(!never.hasSynced)
        }
    }

    @Test func selectorsAndHandlers() async throws {
        try await withServer { _, client in
            try await applyProjectCRDs(client)
            let tasks = client.resource(taskResource, namespace: "default")
            _ = try await tasks.create(task("in", labels: ["pick": "yes"]))
            _ = try await tasks.create(task("out", labels: ["pick": "no"]))
            let informer = try Informer(tasks, options: WatchOptions(labelSelector: "pick=yes"))
            let log = Shared<[String]>([])
            informer.addHandler(onAdd: { log.append("add \($0.name)") },
                                onUpdate: { old, new in log.append("update \(new.name) \(old.labels["pick"] ?? "")→\(new.labels["pick"] ?? "")") },
                                onDelete: { log.append("delete \($0.name)") })
            let running = RunningInformer(informer)
            defer { Task { await running.stop() } }
            try await informer.waitUntilSynced()
            #expect(informer.keys == ["default/in"])

            _ = try await tasks.patch("out", .merge(["metadata": ["labels": ["pick": "yes"]]]))   // enters the selection
            _ = try await tasks.patch("in", .merge(["metadata": ["labels": ["pick": "no"]]]))     // leaves it
            _ = try await tasks.patch("out", .merge(["metadata": ["labels": ["extra": "1"]]]))
            try await waitUntil("the handler saw everything") { log.value.count == 4 }
            #expect(log.value == ["add in", "add out", "delete in", "update out yes→yes"])
            #expect(informer.keys == ["default/out"])
            await running.stop()
        }
    }

    /// A field selector's watch is handed only the changes of objects that had or have the value it pins (the
    /// server's watcher index), and still sees objects enter and leave its selection.
    @Test func aFieldSelectorSeesItsObjectsEnterAndLeave() async throws {
        try await withServer { _, client in
            try await applyProjectCRDs(client)
            let tasks = client.resource(taskResource, namespace: "default")
            let informer = try Informer(tasks, options: WatchOptions(fieldSelector: "status.assignedAgent=a,status.phase!=Completed"))
            let log = Shared<[String]>([])
            informer.addHandler(onAdd: { log.append("add \($0.name)") },
                                onUpdate: { _, new in log.append("update \(new.name) \(new["status"]?["phase"]?.string ?? "")") },
                                onDelete: { log.append("delete \($0.name)") })
            let running = RunningInformer(informer)
            defer { Task { await running.stop() } }
            try await informer.waitUntilSynced()
            for name in ["one", "two"] { _ = try await tasks.create(task(name)) }
            _ = try await tasks.patchStatus("one", .merge(["status": ["phase": "Assigned", "assignedAgent": "a"]]))   // enters
            _ = try await tasks.patchStatus("two", .merge(["status": ["phase": "Assigned", "assignedAgent": "b"]]))   // never seen
            _ = try await tasks.patchStatus("one", .merge(["status": ["phase": "Running"]]))
            _ = try await tasks.patchStatus("one", .merge(["status": ["assignedAgent": "b"]]))   // leaves by its agent
            _ = try await tasks.patchStatus("two", .merge(["status": ["assignedAgent": "a"]]))   // enters by its agent
            _ = try await tasks.patchStatus("two", .merge(["status": ["phase": "Completed"]]))   // leaves by the other field
            _ = try await tasks.delete("one")
            _ = try await tasks.delete("two")
            try await waitUntil("the handler saw everything") { log.value.count == 5 }
            #expect(log.value == ["add one", "update one Running", "delete one", "add two", "delete two"])
            #expect(informer.keys.isEmpty)
            await running.stop()
        }
    }

    @Test func convergesUnderChurnAcrossAKill() async throws {
        try await withServer { server, client in
            try await applyProjectCRDs(client)
            let tasks = client.resource(taskResource, namespace: "default")
            let informer = try Informer(tasks, indexes: [.label("group")], backoff: quickBackoff)
            // Two consumers of the same changes: a closure handler on the informer's task, and a stream.
            let handled = Shared(EventReplica())
            informer.addHandler { event in handled.withLock { $0.take(event) } }
            let streamed = Shared(EventReplica())
            let stream = informer.events()
            let consumer = Task { for await event in stream { streamed.withLock { $0.take(event) } } }
            let running = RunningInformer(informer)
            try await informer.waitUntilSynced()

            let writers = 4, operationsEach = 500
            let done = Shared(0)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for writer in 0..<writers {
                    group.addTask { try await churn(tasks, writer: writer, operations: operationsEach, done: done) }
                }
                // The server dies without a word halfway through, and comes back on the same data.
                // A deadline, not a pace (under the suite's limit): alone this takes seconds, beside the whole
                // suite on two busy cores up to a minute.
                try await waitUntil("half the changes are written", timeout: .seconds(120)) {
                    done.value >= writers * operationsEach / 2
                }
                await server.kill()
                try await server.start()
                try await group.waitForAll()
            }

            let truth = versions(try await tasks.listAll().items)
            try await waitUntil("the informer's cache is the server's state", timeout: .seconds(20)) {
                versions(informer.list()) == truth
            }
            try await waitUntil("both consumers caught up") {
                handled.withLock { $0.versions } == truth && streamed.withLock { $0.versions } == truth
            }
            await running.stop()
            await consumer.value

            for (name, replica) in [("handler", handled.withLock { $0 }), ("stream", streamed.withLock { $0 })] {
                #expect(replica.problems.isEmpty, "\(name): \(replica.problems.prefix(10))")
                #expect(replica.versions == truth, "\(name) ends where the server is")
            }
            #expect(handled.withLock { $0.count } == streamed.withLock { $0.count })
            // The label index agrees with the objects.
            for group in ["a", "b", "c"] {
                let filed = Set(try informer.byIndex("label:group", group).map(\.key))
                #expect(filed == Set(informer.list().filter { $0.labels["group"] == group }.map(\.key)), "group \(group)")
            }
            print("churn: \(writers * operationsEach) writes, \(handled.withLock { $0.count }) events, \(truth.count) objects at the end")
        }
    }

    @Test func expiryAfterARestartTellsOnlyTheDifference() async throws {
        try await withServer { server, client in
            try await applyProjectCRDs(client)
            let tasks = client.resource(taskResource, namespace: "default")
            for index in 0..<6 { _ = try await tasks.create(task("t\(index)")) }
            let informer = try Informer(tasks, backoff: quickBackoff)
            let replica = Shared(EventReplica())
            informer.addHandler { event in replica.withLock { $0.take(event) } }
            let running = RunningInformer(informer)
            defer { Task { await running.stop() } }
            try await informer.waitUntilSynced()
            _ = try await tasks.patch("t0", .merge(["spec": ["priority": 2]]))
            try await waitUntil("the informer saw the change") { replica.withLock { $0.count } == 7 }

            // As in WatchTests: after the restart the informer's resourceVersion is older than the history kept.
            let crds = client.resource(ResourceDescriptor(group: "apiextensions.k8s.io", version: "v1", plural: "customresourcedefinitions",
                                                          kind: "CustomResourceDefinition", namespaced: false))
            _ = try await crds.patch("tasks.mcp.io", .merge(["metadata": ["annotations": ["touched": "yes"]]]))
            await server.kill()
            try await server.start()
            try await waitUntilServing(tasks)
            // Whether these land before the list or after it, each is told once.
            try await tasks.delete("t1")
            _ = try await tasks.patch("t2", .merge(["spec": ["priority": 3]]))
            _ = try await tasks.create(task("t6"))

            let truth = versions(try await tasks.listAll().items)
            try await waitUntil("the informer converged", timeout: .seconds(20)) {
                versions(informer.list()) == truth && replica.withLock { $0.versions } == truth
            }
            let final = replica.withLock { $0 }
            #expect(final.problems.isEmpty, "\(final.problems)")
            // 6 adds and an update before; a delete, an update and an add after: nothing else.
            #expect(final.count == 10)
            await running.stop()
        }
    }

    @Test func cacheTellsTheDifferenceOfAListAndDropsRepeats() throws {
        func describe(_ events: [InformerEvent<JSON>]) -> [String] {
            events.map { event in
                switch event {
                case .added(let object): "add \(object.name)@\(object.resourceVersion!)"
                case .updated(let old, let new): "update \(new.name)@\(old.resourceVersion!)→\(new.resourceVersion!)"
                case .deleted(let object, let unknown): "delete \(object.name)@\(object.resourceVersion!)\(unknown ? " unknown" : "")"
                }
            }
        }
        var cache = try InformerCache<JSON>(indexes: [.label("l")])
        #expect(describe(cache.replace(with: [cachedObject("a", "1"), cachedObject("b", "2", labels: ["l": "x"]), cachedObject("c", "3")])) == ["add a@1", "add b@2", "add c@3"])
        #expect(describe(cache.apply(.added(cachedObject("a", "1")))).isEmpty, "the version it holds: no news")
        #expect(describe(cache.apply(.modified(cachedObject("a", "4")))) == ["update a@1→4"])
        #expect(describe(cache.apply(.bookmark(resourceVersion: "9", initialEventsEnd: false))).isEmpty)
        // A list after a lost watch: b changed (and moved in the index), c is gone, d is new, a is as it was;
        // e is back under a new uid, so it is another object.
        _ = cache.apply(.added(cachedObject("e", "5", uid: "old")))
        let diff = cache.replace(with: [cachedObject("a", "4"), cachedObject("b", "6", labels: ["l": "y"]), cachedObject("d", "7"), cachedObject("e", "8", uid: "new")])
        #expect(describe(diff) == ["update b@2→6", "add d@7", "delete e@5 unknown", "add e@8", "delete c@3 unknown"])
        #expect(try cache.byIndex("label:l", "x").isEmpty)
        #expect(try cache.byIndex("label:l", "y").map(\.name) == ["b"])
        // The deletion the list already told, arriving late from the watch, is not told again.
        #expect(describe(cache.apply(.deleted(cachedObject("c", "10")))).isEmpty)
        #expect(describe(cache.apply(.deleted(cachedObject("d", "11")))) == ["delete d@11"])
        #expect(cache.objects.keys.sorted() == ["ns/a", "ns/b", "ns/e"])
    }

    @Test func aChangeRefilesAnObjectOnlyWhereItsIndexValuesDiffer() throws {
        let labelKeys = InformerIndex<JSON>("labelKeys") { $0.labels.keys.sorted() }
        var cache = try InformerCache<JSON>(indexes: [.namespace, labelKeys])
        _ = cache.apply(.added(cachedObject("a", "1", labels: ["x": "1", "y": "1"])))
        _ = cache.apply(.added(cachedObject("b", "2", labels: ["y": "1"])))
        // a leaves x, stays under y, joins z; b is untouched.
        _ = cache.apply(.modified(cachedObject("a", "3", labels: ["y": "2", "z": "1"])))
        #expect(try cache.indexValues("labelKeys") == ["y", "z"])
        #expect(try cache.byIndex("labelKeys", "x").isEmpty)
        #expect(try cache.byIndex("labelKeys", "y").map(\.resourceVersion) == ["3", "2"])
        #expect(try cache.byIndex("labelKeys", "z").map(\.name) == ["a"])
        #expect(try cache.byIndex("namespace", "ns").map(\.name) == ["a", "b"])
        // A change that moves nothing keeps every filing; a deletion takes them all away.
        _ = cache.apply(.modified(cachedObject("a", "4", labels: ["y": "2", "z": "1"])))
        #expect(try cache.byIndex("labelKeys", "z").map(\.resourceVersion) == ["4"])
        _ = cache.apply(.deleted(cachedObject("a", "5")))
        #expect(try cache.indexValues("labelKeys") == ["y"])
        #expect(try cache.byIndex("namespace", "ns").map(\.name) == ["b"])
    }
}

/// An object as the informer's cache sees one: metadata only.
private func cachedObject(_ name: String, _ version: String, uid: String = "u", labels: [String: String] = [:]) -> JSON {
    var metadata: JSONObject = ["name": .string(name), "namespace": "ns", "resourceVersion": .string(version), "uid": .string(uid)]
    if !labels.isEmpty { metadata["labels"] = .object(JSONObject(uniqueKeysWithValues: labels.map { ($0.key, JSON.string($0.value)) })) }
    return ["metadata": .object(metadata)]
}

/// One writer's share of the churn: creates, label and spec changes, deletes of its own Tasks, going on
/// through the server's death (a write cut off is then looked up, for it may or may not have happened).
func churn(_ tasks: ResourceClient<JSON>, writer: Int, operations: Int, done: Shared<Int>) async throws {
    var exists: [String: Bool] = [:]
    for _ in 0..<operations {
        let name = "w\(writer)-\(Int.random(in: 0..<25))"
        let group = ["a", "b", "c"].randomElement()!
        do {
            if exists[name] == nil { exists[name] = (try? await tasks.get(name)) != nil }
            if exists[name] != true {
                _ = try await tasks.create(task(name, labels: ["group": group]))
                exists[name] = true
            } else if Int.random(in: 0..<10) < 6 {
                _ = try await tasks.patch(name, .merge(["metadata": ["labels": ["group": .string(group)]], "spec": ["priority": .int(Int64.random(in: 1...9))]]))
            } else {
                try await tasks.delete(name)
                exists[name] = false
            }
        } catch let error as KubeAPIError where error.reason == .alreadyExists {
            exists[name] = true
        } catch let error as KubeAPIError where error.reason == .notFound {
            exists[name] = false
        } catch is TransportError {
            exists[name] = nil
            try await waitUntilServing(tasks)
        }
        done.withLock { $0 += 1 }
    }
}
