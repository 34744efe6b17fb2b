import ConductorAPI
import ConductorTestSupport
import Foundation
import KubeClient
import KubeJSON

/// Objects with every field of the CRDs set, so that a round trip through the server proves that nothing
/// the models write is unknown to the schema, pruned or rewritten. `CRDSchemaTests` checks that they are
/// indeed complete.
enum Fixtures {
    static let namespace = "mcp-system"

    static func agent(_ name: String = "data-processor-full") -> Agent {
        Agent(
            metadata: ObjectMeta(name: name, namespace: namespace, labels: [Labels.name: Labels.nameValue]),
            spec: AgentSpec(
                capabilities: ["data-processing", "model-inference"],
                // An integer CPU count and a binary-suffixed memory: both forms the CRD's int-or-string allows.
                resources: ComputeResources(cpu: Quantity(units: 2), memory: try! Quantity("4Gi"), gpu: true),
                tags: ["zone-us-west", "high-memory"],
                maxConcurrentTasks: 4,
                capabilityDetails: [
                    CapabilityDetail(
                        name: "data-processing", title: "Process a dataset", description: "Transform a dataset in object storage.",
                        inputSchema: ["type": "object", "properties": ["dataset": ["type": "string"]], "required": ["dataset"]],
                        outputSchema: ["type": "object", "properties": ["rows": ["type": "integer"]]]),
                    CapabilityDetail(name: "model-inference"),
                ],
                draining: false))
    }

    static func agentStatus() -> AgentStatus {
        AgentStatus(
            phase: .ready,
            lastHeartbeat: try! Timestamp(rfc3339: "2030-01-02T03:04:05Z"),
            currentTasks: 2,
            conditions: [
                Condition(type: .ready, status: .true, reason: .heartbeatRenewed, message: "lease renewed 2s ago",
                          observedGeneration: 1, lastTransitionTime: try! Timestamp(rfc3339: "2030-01-02T03:00:00Z")),
                Condition(type: .draining, status: .false, reason: .registered, message: "not draining",
                          observedGeneration: 1, lastTransitionTime: try! Timestamp(rfc3339: "2030-01-02T03:00:00Z")),
            ])
    }

    static func task(_ name: String = "process-dataset-full") -> TaskResource {
        TaskResource(
            metadata: ObjectMeta(name: name, namespace: namespace, labels: [Labels.assignedAgent: "data-processor-full"]),
            spec: TaskSpec(
                requiredCapabilities: ["data-processing"],
                priority: 7,
                payload: ["dataset": "s3://bucket/data.csv", "operation": "transform", "limits": ["rows": 1000, "ratio": 0.5],
                          "columns": ["a", "b"], "dryRun": false],
                deadline: try! Timestamp(rfc3339: "2030-06-10T12:00:00Z"),
                retryPolicy: RetryPolicy(maxRetries: 5, backoffStrategy: .linear),
                resources: ComputeResources(cpu: try! Quantity("500m"), memory: try! Quantity("512Mi"), gpu: false),
                affinity: TaskAffinity(required: ["zone-us-west"], preferred: ["high-memory"], avoided: ["spot"]),
                cancel: false,
                idempotencyKey: "client-request-42", ttlSecondsAfterFinished: 3600))
    }

    static func taskStatus() -> TaskStatus {
        TaskStatus(
            phase: .running,
            assignedAgent: "data-processor-full",
            startTime: try! Timestamp(rfc3339: "2030-01-02T03:04:05Z"),
            completionTime: try! Timestamp(rfc3339: "2030-01-02T03:09:05Z"),
            result: ["rows": 1000, "output": "s3://bucket/out.csv", "stats": ["mean": 1.25]],
            attempt: 2,
            retries: 1,
            agentLossRetries: 1,
            // A fraction of a second, written back to the nanosecond.
            nextAttemptTime: try! Timestamp(rfc3339: "2030-01-02T03:04:00.123456789Z"),
            progress: TaskProgress(current: 3.5, total: 10, message: "transforming rows"),
            reason: .started,
            message: "running on data-processor-full",
            observedGeneration: 1,
            conditions: [
                Condition(type: .scheduled, status: .true, reason: .assigned, message: "assigned to data-processor-full",
                          observedGeneration: 1, lastTransitionTime: try! Timestamp(rfc3339: "2030-01-02T03:04:01Z")),
                Condition(type: .running, status: .true, reason: .started, message: "attempt 2 started",
                          observedGeneration: 1, lastTransitionTime: try! Timestamp(rfc3339: "2030-01-02T03:04:05Z")),
            ])
    }

    /// The file under deploy/, read.
    static func manifest(_ relativePath: String) throws -> String {
        try String(contentsOf: repositoryRoot.appendingPathComponent(relativePath), encoding: .utf8)
    }

    /// The model's JSON, as the client sends it.
    static func json(_ object: some KubeObject) throws -> JSON {
        try JSON.parse(try object.encoded())
    }
}
