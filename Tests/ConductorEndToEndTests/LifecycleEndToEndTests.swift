import ConductorAgent
import ConductorAPI
import ConductorTestSupport
import Foundation
import KubeClient
import KubeJSON
import Synchronization
import Testing

/// Failures, retries, deadlines and cancellation through `conductor run`, with simulated agents. Exact
/// timings (backoff lengths, deadline instants) are proven on a `ManualClock` in ConductorControllerTests;
/// here the whole path is, on real time with short backoffs.
@Suite(.serialized) struct LifecycleEndToEndTests {
    @Test func anAttemptThatEndsWhileTheAPIServerIsDownIsReportedOnceItIsBack() async throws {
        try await ControlPlane.run { plane in
            let work = HeldWork()
            // A long Lease: the agent must not look lost while the server is away; it is alive throughout.
            let agent = try await plane.startAgent("steady", leaseSeconds: 60, handler: work.handler)
            try await plane.createTask("across-a-restart")
            try await plane.waitForTask("across-a-restart", "running") { $0.status.phase == .running }

            await plane.server.kill()
            work.release()
            // The work ended; its report cannot reach the server, and is tried again rather than dropped.
            try await waitUntil("the agent tries its report again") { await agent.statistics.reportRetries >= 2 }
            try await plane.server.start()

            let done = try await plane.waitForFinal("across-a-restart", timeout: .seconds(30))
            #expect(done.status.phase == .completed && done.status.result == ["held": true], "\(done.status)")
            #expect(done.status.attempt == 1 && (done.status.retries ?? 0) == 0 && (done.status.agentLossRetries ?? 0) == 0,
                    "the one attempt, reported late: \(done.status)")
            // The agent counts its report once the write's answer is back, which may be after the watch showed it.
            try await waitUntil("the agent counts the task completed") { await agent.statistics.completed == 1 }
        }
    }

    @Test func anAgentCutOffMidTaskLosesItWhichCompletesOnceElsewhereAndItsLateReportIsRefused() async throws {
        try await ControlPlane.run { plane in
            let work = HeldWork()
            // A 2 s Lease renewed every 0.5 s: lost soon after the cut, but not before it on a machine so busy
            // that a renewal waits a second (a loss before the cut would rightly reassign the task once more).
            let link = PartitionSwitch()
            let stale = try await plane.startAgent("stale", leaseSeconds: 2, link: link, handler: work.handler)
            try await plane.createTask("survivor")
            try await plane.waitForTask("survivor", "running on stale") { $0.status.phase == .running && $0.status.assignedAgent == "stale" }

            link.cut()
            try await plane.waitUntilAgent("stale", isIn: .notReady)
            let requeued = try await plane.waitForTask("survivor", "back to Pending") { $0.status.effectivePhase == .pending }
            #expect(requeued.status.reason == .agentLost || requeued.status.conditions[.scheduled]?.status == .false)

            try await plane.startAgent("fresh")
            let done = try await plane.waitForFinal("survivor")
            // Attempt 2, unless a heartbeat renewal that was in flight at the cut landed after the NotReady verdict:
            // then the stale agent was briefly Ready again, took attempt 2 and lost it too (fenced like the first).
            let attempt = try #require(done.status.attempt)
            #expect(done.status.phase == .completed && done.status.assignedAgent == "fresh" && attempt >= 2)
            #expect(done.status.result == ["echo": ["n": 1]])

            // The stale agent finishes its attempts late: each write is fenced, the result stays.
            work.release()
            try await waitUntil("the stale agent's report is refused") { await stale.statistics.fenced >= 1 }
            let after = try await plane.tasks.get("survivor")
            #expect(after.status.result == done.status.result && after.status.attempt == attempt)
            #expect(await stale.statistics.completed == 0)

            try await plane.waitForEvent("AgentLost", about: "survivor")
            try await plane.waitForEvent("Reassigned", about: "survivor")
            try await plane.waitForEvent("Completed", about: "survivor")
            try await plane.waitForEvent("AgentNotReady", about: "stale", namespace: Installation.systemNamespace)
            let reasons = try await plane.events(about: "survivor").map(\.reason)
            #expect(reasons.contains("Assigned"))
        }
    }

    @Test func failedAttemptsAreRetriedWithLinearBackoffUntilOneSucceeds() async throws {
        try await ControlPlane.run { plane in
            // Fails attempts 1 and 2, succeeds on 3.
            try await plane.startAgent("flaky", handler: { task in
                if (task.status.attempt ?? 0) < 3 { throw SimulatedFailure(attempt: task.status.attempt ?? 0) }
                return ["attempt": .int(Int64(task.status.attempt ?? 0))]
            })
            try await plane.createTask("retried", retryPolicy: RetryPolicy(maxRetries: 3, backoffStrategy: .linear))
            let done = try await plane.waitForFinal("retried")
            #expect(done.status.phase == .completed && done.status.attempt == 3 && done.status.retries == 2)
            #expect(done.status.result == ["attempt": 3])
            let retrying = try await plane.events(about: "retried").filter { $0.reason == "Retrying" }
            // Linear on a 0.2 s base: 0.2 s, then 0.4 s.
            #expect(retrying.map(\.message) == ["attempt 1 failed; retry 1 in 0.2 seconds", "attempt 2 failed; retry 2 in 0.4 seconds"])
        }
    }

    @Test func exponentialRetriesEndInRetriesExhausted() async throws {
        try await ControlPlane.run { plane in
            try await plane.startAgent("broken", handler: { task in throw SimulatedFailure(attempt: task.status.attempt ?? 0) })
            try await plane.createTask("doomed", retryPolicy: RetryPolicy(maxRetries: 2, backoffStrategy: .exponential))
            let failed = try await plane.waitForFinal("doomed")
            #expect(failed.status.phase == .failed && failed.status.reason == .retriesExhausted)
            #expect(failed.status.attempt == 3 && failed.status.retries == 2)
            #expect(failed.status.conditions[.failed]?.status == .true)
            let retrying = try await plane.events(about: "doomed").filter { $0.reason == "Retrying" }
            // Exponential on a 0.2 s base: 0.2 s, then 0.4 s; the third failure is final.
            #expect(retrying.map(\.message) == ["attempt 1 failed; retry 1 in 0.2 seconds", "attempt 2 failed; retry 2 in 0.4 seconds"])
            try await plane.waitForEvent("Failed", about: "doomed")
        }
    }

    @Test func deadlinesFailRunningAndPendingTasksAndStopTheAgentsWork() async throws {
        try await ControlPlane.run { plane in
            let work = HeldWork()
            let slow = try await plane.startAgent("slow", handler: work.handler)
            let soon = Timestamp(Date().addingTimeInterval(1.5))
            try await plane.createTask("late-running", deadline: soon)
            try await plane.createTask("late-pending", capabilities: ["nobody-offers-this"], deadline: soon)
            try await plane.waitForTask("late-running", "running") { $0.status.phase == .running }
            for name in ["late-running", "late-pending"] {
                let failed = try await plane.waitForFinal(name)
                #expect(failed.status.phase == .failed && failed.status.reason == .deadlineExceeded, "\(name)")
            }
            try await waitUntil("the agent's work on the late task is cancelled") { await slow.statistics.cancelled == 1 }
            #expect(await slow.statistics.completed == 0)
        }
    }

    @Test func cancellingARunningTaskFailsItAsCancelledAndTellsTheAgent() async throws {
        try await ControlPlane.run { plane in
            let work = HeldWork()
            let agent = try await plane.startAgent("worker", handler: work.handler)
            try await plane.createTask("unwanted")
            try await plane.waitForTask("unwanted", "running") { $0.status.phase == .running }
            _ = try await plane.tasks.patch("unwanted", .merge(["spec": ["cancel": true]]))
            let cancelled = try await plane.waitForFinal("unwanted")
            #expect(cancelled.status.phase == .failed && cancelled.status.reason == .cancelled)
            try await waitUntil("the agent's work is cancelled") { await agent.statistics.cancelled == 1 }
            try await plane.waitForEvent("Failed", about: "unwanted")
        }
    }

    @Test func anAgentThatStopsCancelsTheWorkItRunsAndEnds() async throws {
        try await ControlPlane.run { plane in
            let work = HeldWork()
            let agent = try await plane.startAgent("stopping", handler: work.handler)
            try await plane.createTask("interrupted")
            try await plane.waitForTask("interrupted", "running") { $0.status.phase == .running }
            // Never released: only the agent's own stop can end the attempt.
            try await SystemClock().withTimeout(.seconds(30)) { await plane.stopAgents() }
            #expect(await agent.statistics.cancelled == 1)
            #expect(await agent.runningCount == 0)
        }
    }

    @Test func aDeletedAgentsTasksReturnToPendingAndRunElsewhere() async throws {
        try await ControlPlane.run { plane in
            let work = HeldWork()
            try await plane.startAgent("doomed-agent", handler: work.handler)
            try await plane.createTask("orphan")
            try await plane.waitForTask("orphan", "running") { $0.status.phase == .running && $0.status.assignedAgent == "doomed-agent" }
            try await plane.agents.delete("doomed-agent")
            try await plane.startAgent("heir")
            let done = try await plane.waitForFinal("orphan")
            #expect(done.status.phase == .completed && done.status.assignedAgent == "heir" && done.status.attempt == 2)
        }
    }

    @Test func withTheAgentLabelAgentsThatWatchByLabelGetTheirTasks() async throws {
        // As on an API server older than 1.31, whose custom resources have no selectable fields.
        try await ControlPlane.run(controllerArguments: ControlPlane.quickRetries + ["--label-assigned-agent"]) { plane in
            try await plane.startAgent("labelled", selectTasksByLabel: true)
            try await plane.createTask("by-label")
            let done = try await plane.waitForFinal("by-label")
            #expect(done.status.phase == .completed && done.status.assignedAgent == "labelled")
            #expect(done.metadata.labels?[Labels.assignedAgent] == "labelled")
        }
    }

    @Test func theReplicaReportsMetricsAndHealth() async throws {
        try await ControlPlane.run { plane in
            try await plane.startAgent("metered", slots: 3)
            for index in 1...3 { try await plane.createTask("metered-\(index)") }
            for index in 1...3 { try await plane.waitForFinal("metered-\(index)") }
            let controller = plane.controllers[0]
            #expect(try await controller.get("/healthz").status == 200)
            #expect(try await controller.get("/readyz").status == 200)
            try await waitUntil("the gauges count the completed tasks") {
                try await controller.metric(#"conductor_tasks{phase="Completed"}"#) == 3
            }
            #expect(try await controller.metric("conductor_assignments_total") == 3)
            #expect(try await controller.metric("conductor_leader") == 1)
            #expect(try await controller.metric(#"conductor_agents{phase="Ready"}"#) == 1)
            #expect(try await controller.metric("conductor_scheduling_latency_seconds_count") == 3)
            #expect((try await controller.metric(#"rest_client_requests_total{code="200",method="PUT"}"#) ?? 0) >= 3)
            #expect(try await controller.metric("conductor_assignment_queue_depth") != nil)
        }
    }
}

struct SimulatedFailure: Error, CustomStringConvertible {
    var attempt: Int
    var description: String { "simulated failure of attempt \(attempt)" }
}

extension ControlPlane {
    func waitUntilAgent(_ name: String, isIn phase: AgentPhase) async throws {
        try await waitUntil("agent \(name) is \(phase.rawValue)") {
            (try? await agents.get(name))?.status.phase == phase
        }
    }
}

/// An agent's link to the API server that the test cuts.
private final class PartitionSwitch: AgentLink {
    private let state = Atomic<Bool>(false)

    var isCut: Bool { state.load(ordering: .acquiring) }

    func cut() { state.store(true, ordering: .releasing) }
}
