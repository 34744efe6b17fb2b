import Foundation
@testable import KubeClient
import KubeJSON
import Synchronization
import Testing

/// A value several tasks share (a Mutex itself cannot be captured by their closures).
final class Shared<Value: Sendable>: Sendable {
    private let mutex: Mutex<Value>

    init(_ value: Value) { mutex = Mutex(value) }

    func withLock<Result: Sendable>(_ body: (inout Value) -> Result) -> Result { mutex.withLock { body(&$0) } }
    var value: Value { withLock { $0 } }

    func append<Element>(_ element: Element) where Value == [Element] { withLock { $0.append(element) } }
}

/// A resuming watch consumed in the background, every update recorded, until `stop()`.
final class WatchRecorder<Object: KubeObject>: Sendable {
    let updates: Shared<[WatchUpdate<Object>]>
    private let consumer: Task<Void, Never>

    init(_ stream: WatchUpdates<Object>) {
        let updates = Shared<[WatchUpdate<Object>]>([])
        self.updates = updates
        consumer = Task {
            do {
                for try await update in stream { updates.append(update) }
            } catch {
                Issue.record("the resuming watch threw \(error); it should retry everything")
            }
        }
    }

    func stop() { consumer.cancel() }

    var events: [WatchEvent<Object>] {
        updates.value.compactMap { if case .event(let event) = $0 { event } else { nil } }
    }
    /// Changes only: no bookmarks.
    var changes: [WatchEvent<Object>] { events.filter { $0.object != nil } }
    var relists: [ObjectList<Object>] {
        updates.value.compactMap { if case .relisted(let list) = $0 { list } else { nil } }
    }
    var bookmarks: [String] {
        events.compactMap { if case .bookmark(let version, _) = $0 { version } else { nil } }
    }
}

extension WatchEvent {
    /// ADDED, MODIFIED, DELETED, BOOKMARK or ERROR, with the object's name, for messages and comparisons.
    var summary: String {
        switch self {
        case .added(let object): "ADDED \(object.name)"
        case .modified(let object): "MODIFIED \(object.name)"
        case .deleted(let object): "DELETED \(object.name)"
        case .bookmark(let version, let end): "BOOKMARK \(version)\(end ? " end" : "")"
        case .error(let status): "ERROR \(status.code ?? 0) \(status.reason ?? "")"
        case .undecodable(let skipped): "UNDECODABLE \(skipped.key)"
        }
    }
}

/// Numbers for resourceVersions, which this server makes from its revision counter (tests only compare them).
func revision(_ version: String?) -> Int64 { Int64(version ?? "") ?? -1 }

/// After a restart the client's old connection is dead; a GET (sent again once on a new connection)
/// shows that the server answers.
func waitUntilServing(_ tasks: ResourceClient<JSON>) async throws {
    try await waitUntil("the server answers again", timeout: .seconds(30), poll: .milliseconds(50)) {
        (try? await tasks.list(ListOptions(limit: 1))) != nil
    }
}

let quickBackoff = WatchBackoff(initial: .milliseconds(20), maximum: .milliseconds(300))

@Suite(.timeLimit(.minutes(1))) struct WatchTests {
    @Test func resumesAfterKillAndRestartWithEveryChangeOnceInOrder() async throws {
        try await withServer { server, client in
            try await applyProjectCRDs(client)
            let tasks = client.resource(taskResource, namespace: "default")
            let watch = WatchRecorder(tasks.watch(backoff: quickBackoff))
            defer { watch.stop() }
            try await waitUntil("the watch listed") { watch.relists.count == 1 }

            // What the watch must show, in this order: (event, name, resourceVersion when the answer says it).
            var expected: [(String, String, String?)] = []
            func write(_ round: String, _ count: Int) async throws {
                for index in 0..<count {
                    let name = "\(round)-\(index)"
                    expected.append(("ADDED \(name)", name, try await tasks.create(task(name)).resourceVersion))
                    if index % 3 == 2 {
                        let previous = "\(round)-\(index - 1)"
                        let patched = try await tasks.patch(previous, .merge(["spec": ["priority": 7]]))
                        expected.append(("MODIFIED \(previous)", previous, patched.resourceVersion))
                        try await tasks.delete(previous)
                        expected.append(("DELETED \(previous)", previous, nil))
                    }
                }
            }
            try await write("first", 1)
            try await waitUntil("the watch saw the first change") { watch.changes.count == 1 }
            // A burst, and the kill right after its last answer: the watch is likely still behind.
            try await write("before", 120)
            await server.kill()
            try await server.start()
            try await waitUntilServing(tasks)
            try await write("after", 60)

            try await waitUntil("the watch caught up", timeout: .seconds(20)) { watch.changes.count >= expected.count }
            let changes = watch.changes
            #expect(changes.map(\.summary) == expected.map(\.0))
            for (event, want) in zip(changes, expected) where want.2 != nil {
                #expect(event.object?.resourceVersion == want.2, "\(event.summary)")
            }
            let versions = changes.map { revision($0.object?.resourceVersion) }
            #expect(zip(versions, versions.dropFirst()).allSatisfy { $0 < $1 }, "resourceVersions go up, none twice")
            // It resumed from its resourceVersion, without listing again.
            #expect(watch.relists.count == 1)
        }
    }

    @Test func serverTimeoutsAreRenewedWithABookmarkBeforeEach() async throws {
        try await withServer { _, client in
            try await applyProjectCRDs(client)
            let tasks = client.resource(taskResource, namespace: "default")
            // The server ends each request after a second, and sends a bookmark just before it does.
            let watch = WatchRecorder(tasks.watch(options: WatchOptions(timeoutSeconds: 1), backoff: quickBackoff))
            defer { watch.stop() }
            try await waitUntil("three requests timed out") { watch.bookmarks.count >= 3 }
            let created = try await tasks.create(task("after-timeouts"))
            try await waitUntil("the renewed watch delivers the change") { watch.changes.count == 1 }
            try await waitUntil("a bookmark past the change") {
                watch.bookmarks.contains { revision($0) >= revision(created.resourceVersion) }
            }
            #expect(watch.changes.map(\.summary) == ["ADDED after-timeouts"])
            #expect(watch.relists.count == 1, "renewals resume; they do not list again")
            let versions = watch.bookmarks.map(revision)
            #expect(zip(versions, versions.dropFirst()).allSatisfy { $0 <= $1 })
        }
    }

    @Test func initialEventsEndWithABookmarkAndAreNotSentAgainOnRenewal() async throws {
        try await withServer { _, client in
            try await applyProjectCRDs(client)
            let tasks = client.resource(taskResource, namespace: "default")
            for name in ["a", "b", "c"] { _ = try await tasks.create(task(name)) }

            // One request: the state as ADDED events, then the bookmark that ends them.
            let once = try await tasks.watchOnce(resourceVersion: nil, options: WatchOptions(timeoutSeconds: 5, sendInitialEvents: true))
            var seen: [String] = []
            for try await event in once {
                seen.append(event.summary)
                if case .bookmark(_, true) = event { break }
            }
            #expect(seen.dropLast() == ["ADDED a", "ADDED b", "ADDED c"])
            #expect(seen.last?.hasPrefix("BOOKMARK") == true && seen.last?.hasSuffix(" end") == true, "\(seen)")

            // The resuming watch turns them into one relist, and later requests do not ask for them again.
            let watch = WatchRecorder(tasks.watch(options: WatchOptions(timeoutSeconds: 1, sendInitialEvents: true), backoff: quickBackoff))
            defer { watch.stop() }
            try await waitUntil("the initial events arrived") { watch.relists.count == 1 }
            #expect(watch.relists.first?.items.map(\.name) == ["a", "b", "c"])
            try await waitUntil("two renewals") { watch.bookmarks.count >= 2 }
            _ = try await tasks.create(task("d"))
            try await waitUntil("the new object") { watch.changes.count >= 1 }
            #expect(watch.changes.map(\.summary) == ["ADDED d"])
            #expect(watch.relists.count == 1)
        }
    }

    @Test func expiredResourceVersionListsAgainAndResumes() async throws {
        try await withServer { _, client in
            try await applyProjectCRDs(client)
            let tasks = client.resource(taskResource, namespace: "default")
            _ = try await tasks.create(task("old-1"))
            _ = try await tasks.create(task("old-2"))

            // Revision 1 is before the Task CRD, where this resource's history begins: the server answers
            // 200 with one ERROR event, as a real server does.
            let once = try await tasks.watchOnce(resourceVersion: "1")
            var answer: [WatchEvent<JSON>] = []
            for try await event in once { answer.append(event) }
            #expect(answer.map(\.summary) == ["ERROR 410 Expired"])

            let watch = WatchRecorder(tasks.watch(resourceVersion: "1", backoff: quickBackoff))
            defer { watch.stop() }
            try await waitUntil("the watch listed after the 410") { watch.relists.count == 1 }
            #expect(watch.relists[0].items.map(\.name) == ["old-1", "old-2"])
            _ = try await tasks.create(task("new"))
            try await waitUntil("the resumed watch delivers") { watch.changes.count == 1 }
            #expect(watch.updates.value.count == 2, "the relist, then the one change: \(watch.events.map(\.summary))")
            #expect(watch.changes.map(\.summary) == ["ADDED new"])
        }
    }

    @Test func expiryAfterARestartListsAgain() async throws {
        try await withServer { server, client in
            try await applyProjectCRDs(client)
            let tasks = client.resource(taskResource, namespace: "default")
            _ = try await tasks.create(task("kept"))
            let watch = WatchRecorder(tasks.watch(backoff: quickBackoff))
            defer { watch.stop() }
            try await waitUntil("the watch listed") { watch.relists.count == 1 }
            _ = try await tasks.create(task("seen"))
            try await waitUntil("the watch saw it") { watch.changes.count == 1 }

            // A restarted server keeps a custom resource's history only from its CRD's last write on, as a
            // real server's watch cache starts afresh: touching the CRD makes the watch's version too old.
            let crds = client.resource(ResourceDescriptor(group: "apiextensions.k8s.io", version: "v1", plural: "customresourcedefinitions",
                                                          kind: "CustomResourceDefinition", namespaced: false))
            _ = try await crds.patch("tasks.mcp.io", .merge(["metadata": ["annotations": ["touched": "yes"]]]))
            await server.kill()
            try await server.start()
            try await waitUntil("the watch listed again after the 410", timeout: .seconds(20)) { watch.relists.count == 2 }
            #expect(watch.relists[1].items.map(\.name) == ["kept", "seen"])
            _ = try await tasks.create(task("later"))
            try await waitUntil("the resumed watch delivers") { watch.changes.count == 2 }
            #expect(watch.changes.map(\.summary) == ["ADDED seen", "ADDED later"])
        }
    }

    @Test func lineSplitterFramesEventsAcrossChunks() {
        var splitter = LineSplitter()
        #expect(splitter.append(Array("{\"a\":1}\n{\"b\"".utf8)) == [Array("{\"a\":1}".utf8)])
        #expect(splitter.append(Array(":2}".utf8)).isEmpty)
        #expect(splitter.append(Array("\r\n\n  \n{\"c\":3}\n".utf8)) == [Array("{\"b\":2}".utf8), Array("{\"c\":3}".utf8)])
        #expect(splitter.append(Array("{\"d\":4}".utf8)).isEmpty)
        #expect(splitter.finish() == Array("{\"d\":4}".utf8))
        #expect(splitter.finish() == nil)
        // One byte at a time.
        var bytewise = LineSplitter()
        var lines: [[UInt8]] = []
        for byte in Array("x\ny\n".utf8) { lines += bytewise.append([byte]) }
        #expect(lines == [Array("x".utf8), Array("y".utf8)])
    }
}
