import Foundation
import KubeClient
import KubeJSON
import Testing

func task(_ name: String, capability: String = "echo", labels: [String: String] = [:]) -> JSON {
    var metadata: JSONObject = ["name": .string(name)]
    if !labels.isEmpty { metadata["labels"] = .object(JSONObject(uniqueKeysWithValues: labels.map { ($0.key, JSON.string($0.value)) })) }
    return ["apiVersion": "mcp.io/v1", "kind": "Task", "metadata": .object(metadata),
            "spec": ["requiredCapabilities": [.string(capability)], "priority": 5, "payload": ["n": 1]]]
}

func expectAPIError(_ reason: KubeAPIError.Reason, code: Int, _ body: () async throws -> Void) async throws -> KubeAPIError {
    do {
        try await body()
    } catch let error as KubeAPIError {
        #expect(error.reason == reason, "\(error)")
        #expect(error.code == code, "\(error)")
        return error
    }
    throw TestFailure("expected \(reason), but the call succeeded")
}

@Suite struct ClientCRUD {
    @Test func typedLeaseLifecycleAndConflicts() async throws {
        try await withServer { _, client in
            let leases = client.resource(Lease.self, namespace: "default")
            var lease = Lease(metadata: ObjectMeta(name: "holder"), spec: .init(holderIdentity: "a", leaseDurationSeconds: 15))
            let created = try await leases.create(lease)
            #expect(created.spec?.holderIdentity == "a")
            #expect(created.metadata.uid != nil && created.resourceVersion != nil)

            _ = try await expectAPIError(.alreadyExists, code: 409) { _ = try await leases.create(lease) }

            lease = created
            lease.spec?.holderIdentity = "b"
            let updated = try await leases.update(lease)
            #expect(updated.spec?.holderIdentity == "b")
            #expect(updated.resourceVersion != created.resourceVersion)

            // Writing from the stale copy is refused: optimistic concurrency.
            var stale = created
            stale.spec?.holderIdentity = "c"
            let conflict = try await expectAPIError(.conflict, code: 409) { _ = try await leases.update(stale) }
            #expect(conflict.message.contains("the object has been modified"))

            let patched = try await leases.patch("holder", .merge(["spec": ["leaseTransitions": 3]]))
            #expect(patched.spec?.leaseTransitions == 3)
            let jsonPatched = try await leases.patch("holder", .json([["op": "replace", "path": "/spec/holderIdentity", "value": "d"]]))
            #expect(jsonPatched.spec?.holderIdentity == "d")

            let fetched = try await leases.get("holder")
            #expect(fetched == jsonPatched)

            _ = try await expectAPIError(.conflict, code: 409) {
                try await leases.delete("holder", options: DeleteOptions(preconditionResourceVersion: created.resourceVersion))
            }
            try await leases.delete("holder", options: DeleteOptions(preconditionUID: created.metadata.uid))
            _ = try await expectAPIError(.notFound, code: 404) { _ = try await leases.get("holder") }
            _ = try await expectAPIError(.notFound, code: 404) { try await leases.delete("holder") }
        }
    }

    @Test func untypedCustomResourcesWithStatusSelectorsAndPages() async throws {
        try await withServer { _, client in
            try await applyProjectCRDs(client)
            let tasks = client.resource(taskResource, namespace: "default")
            for index in 0..<7 {
                _ = try await tasks.create(task("t\(index)", labels: ["parity": index % 2 == 0 ? "even" : "odd"]))
            }
            let even = try await tasks.list(ListOptions(labelSelector: "parity in (even)"))
            #expect(even.items.map(\.name).sorted() == ["t0", "t2", "t4", "t6"])

            let page = try await tasks.list(ListOptions(limit: 3))
            #expect(page.items.count == 3 && page.continueToken != nil)
            let all = try await tasks.listAll(pageSize: 2)
            #expect(all.items.count == 7 && all.continueToken == nil)

            // The status subresource: a status write leaves spec alone, and the phase becomes selectable.
            let running = try await tasks.patchStatus("t1", .merge(["status": ["phase": "Running", "assignedAgent": "agent-1"]]))
            #expect(running["status"]?["phase"]?.string == "Running")
            let byPhase = try await tasks.list(ListOptions(fieldSelector: "status.phase=Running"))
            #expect(byPhase.items.map(\.name) == ["t1"])

            _ = try await expectAPIError(.badRequest, code: 400) {
                _ = try await tasks.list(ListOptions(fieldSelector: "spec.payload=x"))
            }
            let invalid = try await expectAPIError(.invalid, code: 422) {
                var bad = task("bad")
                bad.set(path: ["spec", "priority"], to: 99)
                _ = try await tasks.create(bad)
            }
            #expect(invalid.causes.contains { $0.field == "spec.priority" }, "\(invalid.causes)")
            _ = try await expectAPIError(.invalid, code: 422) { _ = try await tasks.create(task("Bad_Name")) }

            try await tasks.deleteCollection(ListOptions(labelSelector: "parity=odd"))
            #expect(try await tasks.list().items.map(\.name).sorted() == ["t0", "t2", "t4", "t6"])

            let everywhere = client.resource(taskResource)
            #expect(try await everywhere.list().items.count == 4)
            await #expect(throws: KubeUsageError.self) { try await everywhere.deleteCollection() }
        }
    }

    @Test func unauthorizedAndUnknownResources() async throws {
        try await withServer { server, _ in
            var config = try server.clientConfig()
            config.credentials = .bearerToken("wrong")
            let stranger = try KubeClient(config: config)
            defer { Task { await stranger.shutdown() } }
            _ = try await expectAPIError(.unauthorized, code: 401) { _ = try await stranger.resource(Lease.self, namespace: "default").list() }

            let client = try KubeClient(config: try server.clientConfig())
            let missing = client.resource(ResourceDescriptor(group: "example.com", version: "v1", plural: "widgets", kind: "Widget", namespaced: true), namespace: "default")
            _ = try await expectAPIError(.notFound, code: 404) { _ = try await missing.list() }
            await client.shutdown()
        }
    }

    @Test func tokenFileIsReadAgainAfterUnauthorized() async throws {
        try await withServer { server, _ in
            var config = try server.clientConfig()
            guard case .bearerToken(let good) = config.credentials else { throw TestFailure("kubeconfig without a token") }
            let tokenPath = server.dataDirectory + "/rotating-token"
            try "stale".write(toFile: tokenPath, atomically: true, encoding: .utf8)
            config.credentials = .tokenFile(tokenPath)
            let client = try KubeClient(config: config)
            _ = try await expectAPIError(.unauthorized, code: 401) { _ = try await client.resource(Lease.self, namespace: "default").list() }
            // The kubelet rotates the token: the next 401 makes the client read the file again.
            try good.write(toFile: tokenPath, atomically: true, encoding: .utf8)
            #expect(try await client.resource(Lease.self, namespace: "default").list().items.isEmpty)
            await client.shutdown()
        }
    }
}
