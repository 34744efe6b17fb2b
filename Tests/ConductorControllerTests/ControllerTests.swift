@testable import ConductorController
import ConductorAPI
import ConductorTestSupport
import Foundation
import KubeClient
import Logging
import Synchronization
import Testing

/// Fenced writes against a real local API server.
@Suite struct TaskStatusWriterTests {
    @Test func aWriteOverAStaleReadIsRefusedWithAConflict() async throws {
        try await withServer { _, client in
            try await applyProjectCRDs(client)
            let tasks = client.resource(TaskResource.self, namespace: "default")
            let writer = TaskStatusWriter(client: client)
            let created = try await tasks.create(TaskResource(metadata: ObjectMeta(name: "stale", namespace: "default")))
            let now = Timestamp(secondsSinceEpoch: 1_800_000_000)
            guard case .written(let assigned) = try await writer.assign(created, to: "agent-a", now: now) else {
                throw TestFailure("the first assignment was not written")
            }
            #expect(assigned.status.attempt == 1 && assigned.status.assignedAgent == "agent-a")
            // A second assignment made from the same (now stale) read must not overwrite the first.
            let again = try await writer.assign(created, to: "agent-b", now: now)
            guard case .conflict = again else { throw TestFailure("expected a conflict, got \(again)") }
            #expect(try await tasks.get("stale").status.assignedAgent == "agent-a")
        }
    }

    @Test func anAgentHoldingAnOlderAttemptIsFencedOff() async throws {
        try await withServer { _, client in
            try await applyProjectCRDs(client)
            let tasks = client.resource(TaskResource.self, namespace: "default")
            let writer = TaskStatusWriter(client: client)
            let now = Timestamp(secondsSinceEpoch: 1_800_000_000)
            let created = try await tasks.create(TaskResource(metadata: ObjectMeta(name: "fenced", namespace: "default")))
            guard case .written(let first) = try await writer.assign(created, to: "agent-a", now: now) else { throw TestFailure("assign") }
            // The agent was presumed dead: the task went back to Pending and was given to agent-b.
            let requeued = try #require(TaskTransitions.status(after: .requeueAfterAgentLoss(agent: "agent-a", agentLossRetries: 1), from: first, now: now))
            guard case .written(let pending) = try await writer.write(requeued, over: first, holding: 1) else { throw TestFailure("requeue") }
            guard case .written(let second) = try await writer.assign(pending, to: "agent-b", now: now) else { throw TestFailure("reassign") }
            #expect(second.status.attempt == 2)

            // agent-a comes back, reads the current task and reports its old attempt complete: refused unsent.
            var late = try await tasks.get("fenced")
            late.status.phase = .completed
            let outcome = try await writer.write(late.status, over: try await tasks.get("fenced"), holding: 1)
            guard case .fenced(held: 1, current: 2) = outcome else { throw TestFailure("expected fenced, got \(outcome)") }
            // A write that raises the attempt without assigning is refused too.
            var raised = second.status
            raised.attempt = 3
            raised.phase = .running
            guard case .fenced = try await writer.write(raised, over: second, holding: 2) else { throw TestFailure("raise") }
            let stored = try await tasks.get("fenced")
            #expect(stored.status.phase == .assigned && stored.status.assignedAgent == "agent-b" && stored.status.attempt == 2)
        }
    }
}

/// The supervisor and task actors on a real local API server, time on a `ManualClock`.
@Suite struct ControllerTests {
    @Test(arguments: [(BackoffStrategy.linear, [1, 2]), (.exponential, [1, 2, 4])])
    func aFailedAttemptIsRetriedAfterExactlyItsBackoffUntilRetriesAreSpent(strategy: BackoffStrategy, delays: [Int]) async throws {
        try await ControllerHarness.run { harness in
            let name = "retry-\(strategy.rawValue)"
            try await harness.createTask(name, retryPolicy: RetryPolicy(maxRetries: delays.count, backoffStrategy: strategy))
            try await harness.waitForOffer(name)
            for (index, seconds) in delays.enumerated() {
                let retry = index + 1
                let delay = Duration.seconds(seconds)
                let assigned = try await harness.assign(name, to: "agent-a")
                #expect(assigned.status.attempt == retry)
                let failedAt = harness.now
                try await harness.report(assigned, .failed, reason: .executionFailed)

                let pending = try await harness.waitForTask(name, "back to Pending for retry \(retry)") {
                    $0.status.phase == .pending && $0.status.retries == retry
                }
                #expect(pending.status.nextAttemptTime == failedAt.adding(delay))
                #expect(pending.status.reason == .retryBackoff && pending.status.assignedAgent == nil && pending.status.attempt == retry)

                // Not a moment early: a nanosecond before the backoff ends the timer still sleeps.
                try await harness.waitForTimer(in: delay)
                harness.clock.advance(by: delay - .nanoseconds(1))
                #expect(harness.clock.sleeperCount == 1)
                #expect(harness.sink.offers(of: name).count == retry)
                harness.clock.advance(by: .nanoseconds(1))
                try await harness.waitForOffer(name, count: retry + 1)
            }
            let last = try await harness.assign(name, to: "agent-a")
            try await harness.report(last, .failed, reason: .executionFailed)
            let final = try await harness.awaitTerminal(name)
            #expect(final.status.phase == .failed && final.status.reason == .retriesExhausted)
            #expect(final.status.retries == delays.count && final.status.conditions.isTrue(.failed))
        }
    }

    @Test func aPendingTaskPastItsDeadlineFails() async throws {
        try await ControllerHarness.run { harness in
            let deadline = harness.now.adding(.seconds(5))
            try await harness.createTask("late", deadline: deadline)
            try await harness.waitForOffer("late")
            try await harness.waitForTimer(in: .seconds(5))
            harness.clock.advance(by: .seconds(5))
            let final = try await harness.awaitTerminal("late")
            #expect(final.status.phase == .failed && final.status.reason == .deadlineExceeded)
            #expect(final.status.completionTime == deadline)
        }
    }

    @Test func aCancelRequestFailsTheTaskAndTheActorIsRetired() async throws {
        try await ControllerHarness.run { harness in
            try await harness.createTask("cancel-me")
            try await harness.waitForOffer("cancel-me")
            var task = try await harness.tasks.get("cancel-me")
            task.spec.cancel = true
            _ = try await harness.tasks.update(task)
            let final = try await harness.awaitTerminal("cancel-me")
            #expect(final.status.phase == .failed && final.status.reason == .cancelled)
            try await waitUntil("the final task's actor is retired") { await harness.supervisor.actorCount == 0 }
            // Awaiting a retired final task answers from the cache.
            #expect(try await harness.awaitTerminal("cancel-me").status.reason == .cancelled)
        }
    }

    @Test func aTaskThatNeedsNoActorBetweenItsEventsKeepsNone() async throws {
        try await ControllerHarness.run { harness in
            try await harness.createTask("idle")
            try await harness.waitForOffer("idle")
            // Offered, no timer, nobody waiting: nothing needs the actor until the task's next event.
            try await waitUntil("the Pending task's actor is retired") { await harness.supervisor.actorCount == 0 }
            let assigned = try await harness.assign("idle", to: "agent-a")
            try await waitUntil("the Assigned task's actor is retired") { await harness.supervisor.actorCount == 0 }
            // The event that makes the task final gets an actor, which records the end, then goes.
            try await harness.report(assigned, .completed, reason: .succeeded)
            try await waitUntil("the Completed Event is recorded") { harness.events.reasons(of: "idle") == [ControllerEventReason.completed] }
            try await waitUntil("the final task's actor is retired") { await harness.supervisor.actorCount == 0 }
        }
    }

    @Test func aWaiterGetsAnActorForATaskThatHadNone() async throws {
        try await ControllerHarness.run { harness in
            try await harness.createTask("later")
            try await harness.waitForOffer("later")
            try await waitUntil("the Pending task's actor is retired") { await harness.supervisor.actorCount == 0 }
            let final = Task { try await harness.awaitTerminal("later") }
            try await waitUntil("the waiter is parked") { await harness.supervisor.waiterCount(for: "default/later") == 1 }
            // The waiter keeps the actor through the task's events.
            let assigned = try await harness.assign("later", to: "agent-a")
            _ = try await harness.waitForTask("later", "Assigned") { $0.status.phase == .assigned }
            #expect(await harness.supervisor.actorCount == 1)
            try await harness.report(assigned, .completed, reason: .succeeded)
            #expect(try await final.value.status.phase == .completed)
            try await waitUntil("the actor goes with its waiter") { await harness.supervisor.actorCount == 0 }
        }
    }

    @Test func aRunningTaskWhoseAgentGoesNotReadyReturnsToPending() async throws {
        try await ControllerHarness.run { harness in
            let agent = try await harness.agents.create(Agent(metadata: ObjectMeta(name: "agent-a", namespace: ControllerHarness.namespace),
                                                              spec: AgentSpec(capabilities: ["echo"])))
            var ready = agent
            ready.status.phase = .ready
            ready = try await harness.agents.updateStatus(ready)

            try await harness.createTask("orphan")
            try await harness.waitForOffer("orphan")
            let assigned = try await harness.assign("orphan", to: "agent-a")
            try await harness.report(assigned, .running, reason: .started)

            var lost = ready
            lost.status.phase = .notReady
            _ = try await harness.agents.updateStatus(lost)
            let pending = try await harness.waitForTask("orphan", "back to Pending after agent loss") { $0.status.phase == .pending }
            #expect(pending.status.agentLossRetries == 1 && pending.status.reason == .agentLost)
            #expect(pending.status.assignedAgent == nil && pending.status.attempt == 1 && (pending.status.retries ?? 0) == 0)
            try await harness.waitForOffer("orphan", count: 2)
        }
    }

    @Test func awaitTerminalIsParkedUntilTheFinalStatusArrives() async throws {
        try await ControllerHarness.run { harness in
            try await harness.createTask("awaited")
            try await harness.waitForOffer("awaited")
            let final = Task { try await harness.awaitTerminal("awaited") }
            try await waitUntil("the caller is parked on the actor") { await harness.supervisor.waiterCount(for: "default/awaited") == 1 }
            let assigned = try await harness.assign("awaited", to: "agent-a")
            let running = try await harness.report(assigned, .running, reason: .started)
            try await harness.report(running, .completed, reason: .succeeded)
            let result = try await final.value
            #expect(result.status.phase == .completed && result.status.result == ["ok": true])

            // Deleting a task answers its waiters with an error.
            try await harness.createTask("doomed")
            try await harness.waitForOffer("doomed")
            let doomed = Task { try await harness.awaitTerminal("doomed") }
            try await waitUntil("the caller is parked on the actor") { await harness.supervisor.waiterCount(for: "default/doomed") == 1 }
            try await harness.tasks.delete("doomed")
            await #expect(throws: TaskAwaitError.deleted(task: "default/doomed")) { _ = try await doomed.value }
        }
    }

    @Test func aWaiterAfterTheSupervisorStoppedIsRefused() async throws {
        try await ControllerHarness.run { harness in
            let created = try await harness.createTask("too-late")
            // A second supervisor on the same cache, stopped: nothing would drain an actor made for the waiter.
            let informer = try Informer(harness.client.resource(TaskResource.self, namespace: ControllerHarness.namespace))
            let context = TaskActorContext(writer: harness.writer, clock: harness.clock, sink: harness.sink, logger: Logger(label: "stopped"))
            let supervisor = Supervisor(tasks: informer, agents: nil, context: context)
            let running = Task { await supervisor.run() }
            running.cancel()
            await running.value
            await #expect(throws: TaskAwaitError.supervisorStopped(task: created.key)) {
                try await supervisor.awaitTerminal(created: created)
            }
        }
    }

    @Test func anEarlyEndUnparksTheWaiterAndLeavesTheTaskAlone() async throws {
        try await ControllerHarness.run { harness in
            let created = try await harness.createTask("long")
            try await harness.waitForOffer("long")
            let early = EarlyWaitEnd()
            let waiting = Task { [supervisor = harness.supervisor] in
                try await supervisor.awaitTerminal(created: created, endedBy: early)
            }
            try await waitUntil("the caller is parked on the actor") { await harness.supervisor.waiterCount(for: "default/long") == 1 }
            early.end()
            await #expect(throws: CancellationError.self) { _ = try await waiting.value }
            try await waitUntil("the actor let the waiter go") { await harness.supervisor.waiterCount(for: "default/long") == 0 }
            #expect(try await harness.tasks.get("long").status.effectivePhase == .pending)

            // Ended before it parks: it throws as soon as it would park.
            let endedFirst = EarlyWaitEnd()
            endedFirst.end()
            await #expect(throws: CancellationError.self) {
                _ = try await harness.supervisor.awaitTerminal(created: created, endedBy: endedFirst)
            }
            #expect(await harness.supervisor.waiterCount(for: "default/long") == 0)
        }
    }

    @Test func aCallbackWaiterIsCalledOnceWithTheFinalTaskOrWhenItsWaitEndsEarly() async throws {
        try await ControllerHarness.run { harness in
            // Registered right after the create: the controller then cancels the task, and the callback has it.
            let cancelled = try await harness.createTask("cancelled", cancel: true)
            let finals = Mutex<[Result<TaskResource, any Error>]>([])
            await harness.supervisor.whenTerminal(created: cancelled, endedBy: nil) { result in finals.withLock { $0.append(result) } }
            try await waitUntil("the callback had the final task") { finals.withLock { !$0.isEmpty } }
            #expect(try finals.withLock { try $0[0].get() }.status.reason == .cancelled)

            // Nothing parks on the actor but the callback; an early end calls it with CancellationError.
            let created = try await harness.createTask("long")
            try await harness.waitForOffer("long")
            let early = EarlyWaitEnd()
            let ended = Mutex<[Result<TaskResource, any Error>]>([])
            await harness.supervisor.whenTerminal(created: created, endedBy: early) { result in ended.withLock { $0.append(result) } }
            #expect(await harness.supervisor.waiterCount(for: "default/long") == 1)
            #expect(ended.withLock { $0.isEmpty })
            early.end()
            try await waitUntil("the actor let the callback go") { await harness.supervisor.waiterCount(for: "default/long") == 0 }
            #expect(ended.withLock { $0.count } == 1)
            #expect(throws: CancellationError.self) { _ = try ended.withLock { try $0[0].get() } }
            #expect(try await harness.tasks.get("long").status.effectivePhase == .pending)
            // Each callback was called once.
            #expect(finals.withLock { $0.count } == 1)
        }
    }

    @Test func theSupervisorRestartsAnActorWhoseWorkThrew() async throws {
        try await ControllerHarness.run(failingWrites: 1) { harness in
            let created = try await harness.createTask("flaky", cancel: true)
            // Awaited at once: the informer may not have the task yet.
            let final = try await harness.awaitTerminal(created: created)
            #expect(final.status.reason == .cancelled)
            #expect(await harness.supervisor.restarts == 1)
        }
    }
}
