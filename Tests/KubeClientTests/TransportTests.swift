import Foundation
import KubeClient
import KubeJSON
import Testing

/// Counters from the server's own /metrics.
func serverMetrics(_ client: KubeClient) async throws -> [String: Int] {
    let response = try await client.perform(.init(method: "GET", path: "/metrics", accept: "text/plain"))
    let text = String(decoding: response.body, as: UTF8.self)
    var metrics: [String: Int] = [:]
    for line in text.split(separator: "\n") where !line.hasPrefix("#") {
        let parts = line.split(separator: " ")
        if parts.count == 2, let value = Int(parts[1]) { metrics[String(parts[0])] = value }
    }
    return metrics
}

/// The server's own count of the connections it accepted.
func serverConnectionFigures(_ client: KubeClient) async throws -> (accepted: Int, open: Int) {
    let metrics = try await serverMetrics(client)
    guard let accepted = metrics["apiserver_connections_accepted_total"], let open = metrics["apiserver_connections_open"] else {
        throw TestFailure("no connection figures in /metrics: \(metrics)")
    }
    return (accepted, open)
}

@Suite struct Transport {
    @Test func fiftyWatchesAndConcurrentRequestsShareOneConnection() async throws {
        try await withServer { _, client in
            try await applyProjectCRDs(client)
            let tasks = client.resource(taskResource, namespace: "default")
            let start = try await tasks.list().resourceVersion

            // 50 watches from the same point, each waiting for the same 20 creates.
            let watchers = (0..<50).map { _ in
                Task {
                    var names: [String] = []
                    for try await event in try await tasks.watchOnce(resourceVersion: start) {
                        if case .added(let object) = event { names.append(object.name) }
                        if names.count == 20 { break }
                    }
                    return names
                }
            }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<20 {
                    group.addTask { _ = try await tasks.create(task("mux-\(index)")) }
                    group.addTask { _ = try await tasks.list() }
                }
                try await group.waitForAll()
            }
            for watcher in watchers {
                #expect(try await watcher.value.count == 20)
            }
            let figures = try await serverConnectionFigures(client)
            #expect(figures.accepted == 1, "the server accepted \(figures.accepted) connections")
            #expect(client.connectionsOpened == 1)
        }
    }

    /// The server takes at most 100 streams on a connection (as kube-apiserver): the watches beyond fill a second
    /// connection, and requests still go through instead of waiting for a watch to end.
    @Test func watchesBeyondOneConnectionsStreamsOpenAnotherAndRequestsStillAnswer() async throws {
        try await withServer { _, client in
            try await applyProjectCRDs(client)
            let tasks = client.resource(taskResource, namespace: "default")
            let start = try await tasks.list().resourceVersion
            let opened = Shared(0)
            let watchers = (0..<120).map { _ in
                Task {
                    let events = try await tasks.watchOnce(resourceVersion: start)   // once the server has answered
                    opened.withLock { $0 += 1 }
                    for try await event in events {
                        if case .added = event { return true }
                    }
                    return false
                }
            }
            defer { for watcher in watchers { watcher.cancel() } }
            try await waitUntil("all 120 watches are open at once", timeout: .seconds(30)) { opened.value == 120 }
            _ = try await tasks.create(task("seen-by-all"))
            for watcher in watchers {
                #expect(try await watcher.value)
            }
            // libcurl opens a connection for each transfer that finds the first one full while the next is still
            // in its handshake: more than one, never more than the limit.
            let accepted = try await serverConnectionFigures(client).accepted
            #expect((2...CurlTransport.Configuration().maxConnectionsPerHost).contains(accepted), "the server accepted \(accepted) connections")
        }
    }

    /// libcurl resets every stream it has read in full; the server must not count those against the
    /// connection (swift-nio-http2 would end it after 200).
    @Test func aThousandRequestsStayOnOneConnection() async throws {
        try await withServer { _, client in
            let leases = client.resource(Lease.self, namespace: "default")
            try await withThrowingTaskGroup(of: Void.self) { group in
                for worker in 0..<8 {
                    group.addTask {
                        for index in 0..<125 {
                            if index == 0 { _ = try await leases.create(Lease(metadata: ObjectMeta(name: "l\(worker)"))) }
                            _ = try await leases.patch("l\(worker)", .merge(["spec": ["leaseTransitions": .int(Int64(index))]]))
                        }
                    }
                }
                try await group.waitForAll()
            }
            #expect(try await serverConnectionFigures(client).accepted == 1)
        }
    }

    @Test func reconnectsAfterTheConnectionIsLost() async throws {
        try await withServer { server, client in
            let leases = client.resource(Lease.self, namespace: "default")
            _ = try await leases.create(Lease(metadata: ObjectMeta(name: "before")))
            await server.kill()
            await #expect(throws: TransportError.self) { _ = try await leases.get("before") }
            try await server.start()
            #expect(try await leases.get("before").name == "before")
            #expect(client.connectionsOpened == 2)
        }
    }

    @Test func cancellingTheSwiftTaskCancelsItsTransfer() async throws {
        try await withServer { _, client in
            // A watch sent as a whole-body request never ends on its own: only cancellation ends it.
            let hanging = Task {
                try await client.perform(.init(method: "GET", path: "/apis/coordination.k8s.io/v1/namespaces/default/leases",
                                               query: [("watch", "true"), ("timeoutSeconds", "600")]))
            }
            let streaming = Task {
                var count = 0
                for try await _ in try await client.resource(Lease.self, namespace: "default").watchOnce(resourceVersion: nil) { count += 1 }
                return count
            }
            try await waitUntil("both requests are open on the server") {
                try await serverConnectionFigures(client).open == 1
            }
            hanging.cancel()
            streaming.cancel()
            await #expect(throws: CancellationError.self) { _ = try await hanging.value }
            _ = try? await streaming.value
            // The connection is still good for more.
            #expect(try await client.resource(Lease.self, namespace: "default").list().items.isEmpty)
        }
    }
}
