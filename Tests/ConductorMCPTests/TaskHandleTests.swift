import ConductorAPI
import KubeClient
import KubeJSON
import Testing

@testable import ConductorMCP

/// The MCP view of Task resources (2025-11-25 Tasks): status mapping, lifetimes counted from the end, the
/// wire object, and the list cursor. Every time is passed in, so no clock is read.
struct TaskHandleTests {
    static let created = Timestamp(secondsSinceEpoch: 1_800_000_000)

    static func task(phase: TaskPhase? = nil, reason: Reason? = nil, cancel: Bool? = nil, completedAfter seconds: Int64? = nil,
                     cancelRequestedAfter cancelSeconds: Int64? = nil, ttlMilliseconds: Int64? = 2000) -> TaskResource {
        var annotations = [TaskSubmitter.callerAnnotation: "alice"]
        if let ttlMilliseconds { annotations[TaskSubmitter.taskTTLAnnotation] = String(ttlMilliseconds) }
        if let cancelSeconds {
            annotations[TaskSubmitter.cancelRequestedAnnotation] = created.adding(.seconds(cancelSeconds)).rfc3339
        }
        var metadata = ObjectMeta(name: "mcp-0123", namespace: "default", annotations: annotations)
        metadata.creationTimestamp = created.rfc3339
        return TaskResource(
            metadata: metadata, spec: TaskSpec(requiredCapabilities: ["echo"], cancel: cancel),
            status: TaskStatus(phase: phase, assignedAgent: phase == nil ? nil : "agent-1",
                               completionTime: seconds.map { created.adding(.seconds($0)) }, result: ["echo": "hi"],
                               reason: reason, message: reason == nil ? nil : "went wrong"))
    }

    // MARK: Status

    static let statuses: [(TaskResource, TaskHandleStatus)] = [
        (task(), .working),
        (task(phase: .running), .working),
        // A failed attempt the controller retries is still working.
        (task(phase: .failed, reason: .executionFailed), .working),
        (task(phase: .completed, completedAfter: 5), .completed),
        (task(phase: .failed, reason: .retriesExhausted, completedAfter: 5), .failed),
        (task(phase: .failed, reason: .cancelled, cancel: true, completedAfter: 5), .cancelled),
        // Cancelled from the request on, even before the controller stops it, and even if the work then completes.
        (task(phase: .running, cancel: true), .cancelled),
        (task(phase: .completed, cancel: true, completedAfter: 5, cancelRequestedAfter: 3), .cancelled),
        // A cancel written after the task completed (conductor_cancel) does not change what the client saw.
        (task(phase: .completed, cancel: true, completedAfter: 5), .completed),
    ]

    @Test(arguments: statuses)
    func statusFollowsThePhaseAndTheCancelRequest(_ task: TaskResource, _ expected: TaskHandleStatus) {
        #expect(TaskHandleStatus(task) == expected)
    }

    // MARK: Lifetime

    @Test func theRequestedTTLIsClampedAndDefaulted() throws {
        let fallback = Duration.seconds(60), maximum = Duration.seconds(600)
        #expect(try TaskLifetime.requested([:], fallback: fallback, maximum: maximum).afterEndMilliseconds == 60_000)
        #expect(try TaskLifetime.requested(["ttl": nil], fallback: fallback, maximum: maximum).afterEndMilliseconds == 60_000)
        #expect(try TaskLifetime.requested(["ttl": 5000], fallback: fallback, maximum: maximum).afterEndMilliseconds == 5000)
        #expect(try TaskLifetime.requested(["ttl": 10], fallback: fallback, maximum: maximum).afterEndMilliseconds == 1000)
        #expect(try TaskLifetime.requested(["ttl": 9_000_000], fallback: fallback, maximum: maximum).afterEndMilliseconds == 600_000)
        for bad: JSON in [["ttl": "soon"], ["ttl": -1], "forever"] {
            #expect(throws: JSONRPCError.self) { try TaskLifetime.requested(bad, fallback: fallback, maximum: maximum) }
        }
    }

    @Test func aHandleLivesItsTTLPastTheEndNotPastItsCreation() {
        let lifetime = TaskLifetime(afterEndMilliseconds: 2000)
        let running = Self.task(phase: .running)
        #expect(lifetime.reportedTTL(of: running, createdAt: Self.created) == nil)
        #expect(!lifetime.hasExpired(running, now: Self.created.adding(.seconds(3600))))

        let done = Self.task(phase: .completed, completedAfter: 10)
        #expect(lifetime.reportedTTL(of: done, createdAt: Self.created) == 12_000)
        #expect(!lifetime.hasExpired(done, now: Self.created.adding(.milliseconds(11_999))))
        #expect(lifetime.hasExpired(done, now: Self.created.adding(.seconds(12))))

        // Cancelled: counted from the request, which comes before the task ends.
        let cancelled = Self.task(phase: .failed, reason: .cancelled, cancel: true, completedAfter: 10, cancelRequestedAfter: 4)
        #expect(lifetime.reportedTTL(of: cancelled, createdAt: Self.created) == 6000)
        #expect(lifetime.hasExpired(cancelled, now: Self.created.adding(.seconds(6))))
    }

    @Test func theResourceOutlivesItsHandle() {
        #expect(TaskLifetime(afterEndMilliseconds: 2000).retentionSeconds(controllerDefault: 86_400) == 86_400)
        #expect(TaskLifetime(afterEndMilliseconds: 100_000_001).retentionSeconds(controllerDefault: 0) == 100_001)
        #expect(TaskLifetime(afterEndMilliseconds: .max / 2).retentionSeconds(controllerDefault: 0) == Limits.maximumFinishedTaskTTLSeconds)
    }

    @Test func onlyTasksWithTheAnnotationAreHandles() {
        #expect(TaskLifetime.of(Self.task()) == TaskLifetime(afterEndMilliseconds: 2000))
        #expect(TaskLifetime.of(Self.task(ttlMilliseconds: nil)) == nil)
    }

    // MARK: Wire

    @Test func theLegacyObjectHasEveryRequiredField() {
        let handle = TaskHandle(task: Self.task(phase: .failed, reason: .retriesExhausted, completedAfter: 7),
                                lifetime: TaskLifetime(afterEndMilliseconds: 2000), pollInterval: 500)
        #expect(handle.legacyJSON == [
            "taskId": "mcp-0123", "status": "failed", "statusMessage": "RetriesExhausted: went wrong",
            "createdAt": .string(Self.created.rfc3339), "lastUpdatedAt": .string(Self.created.adding(.seconds(7)).rfc3339),
            "ttl": 9000, "pollInterval": 500,
        ])
        let working = TaskHandle(task: Self.task(), lifetime: TaskLifetime(afterEndMilliseconds: 2000), pollInterval: 500)
        #expect(working.legacyJSON["ttl"] == .null)
        #expect(working.legacyJSON["status"] == "working")
        #expect(working.legacyJSON["statusMessage"] == "Pending")
    }

    @Test func theCursorRoundTripsAndForeignCursorsAreInvalidParams() throws {
        #expect(try TaskListCursor.decode(TaskListCursor.encode(after: "mcp-0a")) == "mcp-0a")
        for foreign in ["mcp-0a", "%%%", Base64URL.encode(Array("{}".utf8))] {
            let error = #expect(throws: JSONRPCError.self) { try TaskListCursor.decode(foreign) }
            #expect(error?.code == -32602)
        }
    }

    @Test func executionIsShownOnlyToRevisionsWithTasks() {
        let tool = ToolDefinition(name: "echo", inputSchema: ["type": "object"])
        #expect(tool.json(showingExecution: true)["execution"] == ["taskSupport": "optional"])
        #expect(tool.json(showingExecution: false)["execution"] == nil)
        #expect(ManagementTools.definitions.allSatisfy { $0.taskSupport == .forbidden })
        #expect(ProtocolVersion.hasTasks("2025-11-25"))
        #expect(!ProtocolVersion.hasTasks("2025-06-18"))
    }
}
