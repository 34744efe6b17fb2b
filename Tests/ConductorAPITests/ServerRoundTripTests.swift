import ConductorAPI
import ConductorTestSupport
import Foundation
import KubeClient
import KubeJSON
import Testing

/// Against a real `conductor apiserver` with the project's CRDs: everything the models write is accepted under
/// `fieldValidation=Strict` (an unknown field is an error, not a silent prune), and comes back unchanged.
@Suite struct ServerRoundTrip {
    @Test func agentWithEveryFieldRoundTrips() async throws {
        try await withProjectServer { client in
            try await Self.expectRoundTrip(Fixtures.agent(), status: Fixtures.agentStatus(), client: client)
        }
    }

    @Test func taskWithEveryFieldRoundTrips() async throws {
        try await withProjectServer { client in
            let task = try await Self.expectRoundTrip(Fixtures.task(), status: Fixtures.taskStatus(), client: client)
            #expect(task.status.nextAttemptTime?.nanoseconds == 123_456_789)

            // The selectable fields the agents' and the controller's watches use.
            let tasks = client.resource(TaskResource.self, namespace: Fixtures.namespace)
            let assigned = try await tasks.list(ListOptions(fieldSelector: Selectors.tasksAssigned(to: "data-processor-full")))
            #expect(assigned.items.map(\.name) == [task.name])
            let running = try await tasks.list(ListOptions(fieldSelector: Selectors.tasks(in: .running)))
            #expect(running.items.map(\.name) == [task.name])
            let labelled = try await tasks.list(ListOptions(labelSelector: Selectors.tasksLabelledAssigned(to: "data-processor-full")))
            #expect(labelled.items.map(\.name) == [task.name])
            // An agent's watch holds its tasks until they finish.
            let inProgress = ListOptions(fieldSelector: Selectors.tasksInProgress(assignedTo: "data-processor-full"))
            #expect(try await tasks.list(inProgress).items.map(\.name) == [task.name])
            _ = try await tasks.patchStatus(task.name, .merge(["status": ["phase": "Completed"]]))
            #expect(try await tasks.list(inProgress).items.isEmpty)
        }
    }

    /// Creates `object`, then writes `status`, both under Strict; each answer, a fresh read and the stored JSON
    /// must be what the model wrote. Returns the object as read back.
    @discardableResult
    private static func expectRoundTrip<Object: SpecAndStatusResource>(_ object: Object, status: Object.Status,
                                                                        client: KubeClient) async throws -> Object {
        let typed = client.resource(Object.self, namespace: Fixtures.namespace)
        let created = try await typed.create(object, fieldValidation: "Strict")
        #expect(created.spec == object.spec)
        #expect(created.metadata.labels == object.metadata.labels)
        // Status is not written on create (the status subresource): the server starts the object without one.
        #expect(created.status.isEmpty)

        var withStatus = created
        withStatus.status = status
        let updated = try await typed.updateStatus(withStatus, fieldValidation: "Strict")
        #expect(updated.status == status)
        #expect(updated.spec == object.spec)

        let fetched = try await typed.get(object.name)
        #expect(fetched == updated)
        // What the server stores is exactly what the model wrote: no member pruned, defaulted or rewritten.
        let stored = try await client.resource(Object.resource, namespace: Fixtures.namespace).get(object.name)
        let written = try Fixtures.json(withStatus)
        #expect(stored["spec"] == written["spec"])
        #expect(stored["status"] == written["status"])
        return fetched
    }

    @Test func aMinimalTaskGetsTheServersDefaultsAndTheModelsEffectiveValuesAgree() async throws {
        try await withProjectServer { client in
            let tasks = client.resource(TaskResource.self, namespace: Fixtures.namespace)
            let bare = TaskResource(metadata: ObjectMeta(name: "bare", namespace: Fixtures.namespace),
                                    spec: TaskSpec(requiredCapabilities: ["echo"]))
            let created = try await tasks.create(bare, fieldValidation: "Strict")
            // No retryPolicy: the server defaults nothing, the model's effective policy is the CRD's defaults.
            #expect(created.spec.retryPolicy == nil)
            #expect(created.spec.effectiveRetryPolicy == .default)
            #expect(created.spec.effectivePriority == Defaults.priority)
            #expect(created.status.effectivePhase == .pending)

            // An empty retryPolicy: the server fills in the CRD's defaults, which are the model's.
            let emptyPolicy = TaskResource(metadata: ObjectMeta(name: "empty-policy", namespace: Fixtures.namespace),
                                           spec: TaskSpec(requiredCapabilities: ["echo"], retryPolicy: RetryPolicy()))
            let defaulted = try await tasks.create(emptyPolicy, fieldValidation: "Strict")
            #expect(defaulted.spec.retryPolicy == .default)
        }
    }

    @Test func theSeedsExamplesDecodeIntoTheModelsWithoutLosingAFieldAndAreAccepted() async throws {
        try await withProjectServer { client in
            let agentYAML = try yamlToJSON(try Fixtures.manifest("deploy/examples/agent.yaml"))
            let agent = try Agent.decode(agentYAML.serialized())
            #expect(agent.spec.capabilities == ["data-processing", "model-inference"])
            #expect(agent.spec.resources?.cpu == Quantity(units: 2))
            #expect(agent.spec.resources?.memory == (try Quantity("4Gi")))
            #expect(agent.spec.capabilityDetails.map(\.name) == ["data-processing", "model-inference"])
            // Encoding the decoded example gives the example back: the model holds every field it has.
            #expect(try Fixtures.json(agent) == agentYAML)
            let createdAgent = try await client.resource(Agent.self, namespace: Fixtures.namespace).create(agent, fieldValidation: "Strict")
            #expect(createdAgent.spec == agent.spec)

            let taskYAML = try yamlToJSON(try Fixtures.manifest("deploy/examples/task.yaml"))
            let task = try TaskResource.decode(taskYAML.serialized())
            #expect(task.spec.requiredCapabilities == ["data-processing"])
            #expect(task.spec.priority == 5)
            #expect(task.spec.payload == ["dataset": "s3://bucket/data.csv", "operation": "transform"])
            #expect(task.spec.deadline == (try Timestamp(rfc3339: "2030-06-10T12:00:00Z")))
            #expect(try Fixtures.json(task) == taskYAML)
            let createdTask = try await client.resource(TaskResource.self, namespace: Fixtures.namespace).create(task, fieldValidation: "Strict")
            #expect(createdTask.spec == task.spec)
        }
    }

    @Test func theServerRefusesWhatTheCRDForbidsAndTheModelsCanExpress() async throws {
        try await withProjectServer { client in
            let tasks = client.resource(TaskResource.self, namespace: Fixtures.namespace)
            var task = Fixtures.task("out-of-range")
            task.spec.priority = 11
            await #expect(throws: KubeAPIError.self) { _ = try await tasks.create(task, fieldValidation: "Strict") }

            let agents = client.resource(Agent.self, namespace: Fixtures.namespace)
            var agent = Fixtures.agent("no-slots")
            agent.spec.maxConcurrentTasks = 0
            await #expect(throws: KubeAPIError.self) { _ = try await agents.create(agent, fieldValidation: "Strict") }
        }
    }

    /// The round trips above prove something only if Strict reaches the server on create and on status updates.
    @Test func strictValidationRefusesAnUnknownFieldOnCreateAndOnStatusUpdate() async throws {
        try await withProjectServer { client in
            let untyped = client.resource(.tasks, namespace: Fixtures.namespace)
            var unknownInSpec = try Fixtures.json(Fixtures.task("unknown-in-spec"))
            unknownInSpec.set(path: ["spec", "notAField"], to: 1)
            let refused = try await Self.expectBadRequest { _ = try await untyped.create(unknownInSpec, fieldValidation: "Strict") }
            #expect(refused.message.contains("unknown field \"spec.notAField\""), "\(refused)")

            var stored = try await untyped.create(try Fixtures.json(Fixtures.task("unknown-in-status")), fieldValidation: "Strict")
            stored.set(path: ["status", "notAField"], to: 1)
            let refusedStatus = try await Self.expectBadRequest { _ = try await untyped.updateStatus(stored, fieldValidation: "Strict") }
            #expect(refusedStatus.message.contains("unknown field \"status.notAField\""), "\(refusedStatus)")
        }
    }

    private static func expectBadRequest(_ body: () async throws -> Void) async throws -> KubeAPIError {
        do {
            try await body()
        } catch let error as KubeAPIError {
            #expect(error.code == 400, "\(error)")
            return error
        }
        throw TestFailure("expected 400 Bad Request for an unknown field under Strict, but the write succeeded")
    }

    /// A server with the project's CRDs and the conductor's namespace.
    private func withProjectServer(_ body: (KubeClient) async throws -> Void) async throws {
        try await withServer { _, client in
            try await applyProjectCRDs(client)
            _ = try await client.resource(.namespaces).create(
                ["apiVersion": "v1", "kind": "Namespace", "metadata": ["name": .string(Fixtures.namespace)]])
            try await body(client)
        }
    }
}
