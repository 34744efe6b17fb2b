import ConductorAgent
import ConductorAPI
import ConductorTestSupport
import Foundation
import KubeClient
import KubeJSON
import Testing

/// Replicas and agents started on a cluster that already holds heartbeat Leases, Events, Agents and Tasks: a
/// rolling update, a drained node, a crash. Built-in kinds' list items come without `apiVersion` and `kind` from
/// a real API server (and from the local one); a client that required them never synced, never led and never
/// scheduled.
@Suite(.serialized) struct RestartEndToEndTests {
    static let core = ResourceDescriptor(group: "", version: "v1", plural: "events", kind: "Event", namespaced: true)
    static let eventsV1 = ResourceDescriptor(group: "events.k8s.io", version: "v1", plural: "events", kind: "Event", namespaced: true)

    /// What a cluster holds when a controller restarts: a live agent's Agent and Lease, one whose pod died long
    /// ago, Events of both APIs, and a task that waits.
    static func existingState(_ client: KubeClient) async throws {
        let system = Installation.systemNamespace
        let agents = client.resource(Agent.self, namespace: system)
        let leases = client.resource(Lease.self, namespace: system)
        let longAgo = "2026-01-01T00:00:00.000000Z"
        for name in ["returning", "gone"] {
            _ = try await agents.create(Agent(metadata: ObjectMeta(name: name, namespace: system),
                                              spec: AgentSpec(capabilities: ["echo"], maxConcurrentTasks: 1)))
            _ = try await leases.create(Lease(
                metadata: ObjectMeta(name: HeartbeatLease.name(forAgent: name), namespace: system, labels: [Labels.agent: name]),
                spec: .init(holderIdentity: name, leaseDurationSeconds: 5, acquireTime: longAgo, renewTime: longAgo)))
        }
        _ = try await client.resource(core, namespace: ControlPlane.namespace).create([
            "apiVersion": "v1", "kind": "Event", "metadata": ["name": "earlier.assigned"], "count": 1,
            "involvedObject": ["apiVersion": "mcp.io/v1", "kind": "Task", "name": "earlier", "namespace": .string(ControlPlane.namespace)],
            "reason": "Assigned", "message": "Task assigned to gone", "source": ["component": "mcp-controller"], "type": "Normal",
        ])
        _ = try await client.resource(eventsV1, namespace: system).create([
            "apiVersion": "events.k8s.io/v1", "kind": "Event", "metadata": ["name": "gone.ready"], "action": "Heartbeat",
            "eventTime": "2026-01-01T00:00:00.000000Z", "note": "ready", "reason": "AgentReady",
            "regarding": ["apiVersion": "mcp.io/v1", "kind": "Agent", "name": "gone", "namespace": .string(system)],
            "reportingController": "mcp.io/controller", "reportingInstance": "controller-old", "type": "Normal",
        ])
        _ = try await client.resource(TaskResource.self, namespace: ControlPlane.namespace).create(TaskResource(
            metadata: ObjectMeta(name: "waiting", namespace: ControlPlane.namespace),
            spec: TaskSpec(requiredCapabilities: ["echo"], payload: ["n": 7])))
    }

    @Test func aControllerAndAnAgentStartedOverExistingObjectsBecomeReadyAndDispatch() async throws {
        try await ControlPlane.run(existing: Self.existingState) { plane in
            // `run` returned: the replica answered /readyz, so its informers listed the Leases and Agents.
            let replica = plane.controllers[0]
            #expect(try await replica.get("/readyz").status == 200)
            // The dead agent's Lease expired long ago: marked NotReady by the monitor, so nothing goes to it.
            try await waitUntil("the gone agent is NotReady") {
                (try? await plane.agents.get("gone"))?.status.phase == .notReady
            }
            // An agent that restarts over its own Agent and Lease registers again and takes the waiting task.
            try await plane.startAgent("returning")
            let waited = try await plane.waitForFinal("waiting")
            #expect(waited.status.phase == .completed)
            #expect(waited.status.assignedAgent == "returning")
            #expect(waited.status.result == ["echo": ["n": 7]])
            // And new work flows.
            try await plane.createTask("fresh")
            #expect(try await plane.waitForFinal("fresh").status.phase == .completed)
            try await plane.waitForEvent("Completed", about: "fresh")
        }
    }

    @Test func anAgentRestartedOverItsRunningAttemptHasItRetriedOnTheAgentLossBudget() async throws {
        // The agent died while running attempt 1 and comes back before its heartbeat Lease expired: the task is
        // still Running under its name, and only the agent can tell that the work died with it.
        let existing: (KubeClient) async throws -> Void = { client in
            let system = Installation.systemNamespace
            _ = try await client.resource(Agent.self, namespace: system).create(Agent(
                metadata: ObjectMeta(name: "crashed", namespace: system), spec: AgentSpec(capabilities: ["echo"], maxConcurrentTasks: 1)))
            let now = KubeTimestamp.microTime(Date())
            _ = try await client.resource(Lease.self, namespace: system).create(Lease(
                metadata: ObjectMeta(name: HeartbeatLease.name(forAgent: "crashed"), namespace: system, labels: [Labels.agent: "crashed"]),
                spec: .init(holderIdentity: "crashed", leaseDurationSeconds: 120, acquireTime: now, renewTime: now)))
            let tasks = client.resource(TaskResource.self, namespace: ControlPlane.namespace)
            var task = try await tasks.create(TaskResource(metadata: ObjectMeta(name: "interrupted", namespace: ControlPlane.namespace),
                                                           spec: TaskSpec(requiredCapabilities: ["echo"], payload: ["n": 3])))
            task.status = TaskStatus(phase: .running, assignedAgent: "crashed", attempt: 1, reason: .started)
            _ = try await tasks.updateStatus(task)
        }
        try await ControlPlane.run(existing: existing) { plane in
            try await plane.startAgent("crashed")
            let final = try await plane.waitForFinal("interrupted")
            #expect(final.status.phase == .completed && final.status.attempt == 2, "\(final.status)")
            #expect(final.status.agentLossRetries == 1, "an agent lost, \(final.status)")
            #expect((final.status.retries ?? 0) == 0, "not a retry spent, \(final.status)")
        }
    }

    @Test func twoReplicasStartedOverExistingLeasesElectOneLeaderWhichSchedules() async throws {
        let existing: (KubeClient) async throws -> Void = { client in
            try await Self.existingState(client)
            // The previous leader's Lease, held by a replica that is gone.
            _ = try await client.resource(Lease.self, namespace: Installation.systemNamespace).create(Lease(
                metadata: ObjectMeta(name: Installation.leaderElectionLeaseName, namespace: Installation.systemNamespace),
                spec: .init(holderIdentity: "controller-old", leaseDurationSeconds: 2,
                            acquireTime: "2026-01-01T00:00:00.000000Z", renewTime: "2026-01-01T00:00:00.000000Z")))
        }
        try await ControlPlane.run(replicas: 2, controllerArguments: ControlPlane.quickRetries + FailoverTests.election,
                                   existing: existing) { plane in
            let leader = try await plane.waitForLeader()
            let follower = plane.controllers.first { $0.identity != leader.identity }!
            #expect(try await follower.metric("conductor_leader") == 0)
            #expect(try await follower.get("/readyz").status == 200)
            try await plane.startAgent("returning")
            #expect(try await plane.waitForFinal("waiting").status.phase == .completed)
            #expect(try await leader.metric("conductor_assignments_total") == 1)
            #expect(try await follower.metric("conductor_assignments_total") == nil)
        }
    }
}
