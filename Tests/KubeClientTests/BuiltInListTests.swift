import Foundation
import KubeClient
import KubeJSON
import Testing

/// A real API server leaves `apiVersion` and `kind` out of the items of a built-in kind's list (a LeaseList's
/// items are bare; a TaskList's are not), and the local server answers the same way. The client takes both from
/// the list, as client-go does, so that typed models (which require them) and untyped objects read the same
/// from a list, a page of a list, a relist and a watch.
@Suite struct BuiltInLists {
    static let events = ResourceDescriptor(group: "", version: "v1", plural: "events", kind: "Event", namespaced: true)
    static let eventsV1 = ResourceDescriptor(group: "events.k8s.io", version: "v1", plural: "events", kind: "Event", namespaced: true)

    @Test func leaseListItemsComeBareFromTheServerAndDecodeTypedAndUntyped() async throws {
        try await withServer { _, client in
            let leases = client.resource(Lease.self, namespace: "default")
            for name in ["a", "b", "c"] {
                _ = try await leases.create(Lease(metadata: ObjectMeta(name: name), spec: .init(holderIdentity: name, leaseDurationSeconds: 15)))
            }
            // What the server sends: no apiVersion and kind on the items, both on the list.
            let raw = try JSON.parse(try await client.perform(.init(method: "GET", path: "/apis/coordination.k8s.io/v1/namespaces/default/leases")).body)
            #expect(raw["kind"] == "LeaseList" && raw["apiVersion"] == "coordination.k8s.io/v1")
            let rawItems = raw["items"]?.array ?? []
            #expect(rawItems.count == 3)
            #expect(rawItems.allSatisfy { $0["apiVersion"] == nil && $0["kind"] == nil })

            let typed = try await leases.list()
            #expect(typed.items.map(\.name) == ["a", "b", "c"])
            #expect(typed.items.allSatisfy { $0.apiVersion == "coordination.k8s.io/v1" && $0.kind == "Lease" })

            let paged = try await leases.listAll(pageSize: 1)
            #expect(paged.items.map { $0.spec?.holderIdentity } == ["a", "b", "c"])

            let untyped = try await client.resource(ResourceDescriptor.leases, namespace: "default").list()
            #expect(untyped.items.allSatisfy { $0["apiVersion"] == "coordination.k8s.io/v1" && $0["kind"] == "Lease" })
        }
    }

    @Test func informersOfBuiltInKindsSyncOverExistingObjects() async throws {
        try await withServer { _, client in
            let leases = client.resource(Lease.self, namespace: "default")
            _ = try await leases.create(Lease(metadata: ObjectMeta(name: "before"), spec: .init(holderIdentity: "x")))
            let namespaces = try Informer(client.resource(ResourceDescriptor.namespaces))
            let informer = RunningInformer(try Informer(leases))
            let namespaceInformer = RunningInformer(namespaces)
            try await waitUntil("the Lease informer synced") { informer.informer.hasSynced }
            #expect(informer.informer.get("default/before")?.spec?.holderIdentity == "x")
            try await waitUntil("the Namespace informer synced") { namespaceInformer.informer.hasSynced }
            #expect(namespaceInformer.informer.get("default")?["kind"] == "Namespace")

            // The watch after the list carries typed objects too.
            _ = try await leases.create(Lease(metadata: ObjectMeta(name: "after"), spec: .init(holderIdentity: "y")))
            try await waitUntil("the informer saw the new Lease") { informer.informer.get("default/after") != nil }
            await informer.stop()
            await namespaceInformer.stop()
        }
    }

    /// kube-apiserver keeps events.k8s.io/v1 Events in the core Events' storage: each API lists what the other
    /// wrote, in its own fields.
    @Test func eventsWrittenThroughEitherAPIListThroughBoth() async throws {
        try await withServer { _, client in
            let core = client.resource(Self.events, namespace: "default")
            let modern = client.resource(Self.eventsV1, namespace: "default")
            _ = try await core.create([
                "apiVersion": "v1", "kind": "Event", "metadata": ["name": "t1.assigned"], "count": 1,
                "involvedObject": ["apiVersion": "mcp.io/v1", "kind": "Task", "name": "t1", "namespace": "default"],
                "reason": "Assigned", "message": "Task assigned to agent-a", "source": ["component": "mcp-controller"], "type": "Normal",
            ])
            _ = try await modern.create([
                "apiVersion": "events.k8s.io/v1", "kind": "Event", "metadata": ["name": "t1.done"], "action": "Complete",
                "eventTime": "2026-12-01T23:05:25.000000Z", "note": "done", "reason": "Completed",
                "regarding": ["apiVersion": "mcp.io/v1", "kind": "Task", "name": "t1", "namespace": "default"],
                "reportingController": "mcp.io/controller", "reportingInstance": "controller-0", "type": "Normal",
            ])
            let coreItems = try await core.list().items
            #expect(coreItems.map(\.name) == ["t1.assigned", "t1.done"])
            #expect(coreItems.allSatisfy { $0["apiVersion"] == "v1" })
            #expect(coreItems[1]["message"] == "done" && coreItems[1]["reportingComponent"] == "mcp.io/controller")
            #expect(coreItems[1]["involvedObject"]?["name"] == "t1")

            let modernItems = try await modern.list().items
            #expect(modernItems.map(\.name) == ["t1.assigned", "t1.done"])
            #expect(modernItems.allSatisfy { $0["apiVersion"] == "events.k8s.io/v1" })
            #expect(modernItems[0]["note"] == "Task assigned to agent-a" && modernItems[0]["deprecatedCount"] == 1)
            #expect(modernItems[0]["regarding"]?["kind"] == "Task" && modernItems[0]["reportingController"] == nil)

            // A field selector reads the shape of the API asked.
            let selected = try await modern.list(ListOptions(fieldSelector: "regarding.name=t1,reason=Completed")).items
            #expect(selected.map(\.name) == ["t1.done"])
            // An update through one API keeps what the other wrote.
            let patched = try await modern.patch("t1.assigned", .merge(["note": "reassigned"]))
            #expect(patched["note"] == "reassigned" && patched["deprecatedSource"]?["component"] == "mcp-controller")
            #expect(try await core.get("t1.assigned")["message"] == "reassigned")
        }
    }
}
