import ConductorAPI
import ConductorController
import KubeClient
import Testing

/// The policy's every branch, with exact instants: time is an argument, so nothing here waits.
@Suite struct TaskLifecyclePolicyTests {
    let policy = TaskLifecyclePolicy(backoff: RetryBackoff(base: .seconds(1), cap: .seconds(300)), maxAgentLossRetries: 5)
    let now = Timestamp(secondsSinceEpoch: 1_800_000_000)

    func task(_ status: TaskStatus = TaskStatus(), deadline: Timestamp? = nil, retryPolicy: RetryPolicy? = nil, cancel: Bool? = nil) -> TaskResource {
        TaskResource(metadata: ObjectMeta(name: "t", namespace: "default"),
                     spec: TaskSpec(requiredCapabilities: ["echo"], deadline: deadline, retryPolicy: retryPolicy, cancel: cancel),
                     status: status)
    }

    func failedAttempt(retries: Int?, attempt: Int = 1) -> TaskStatus {
        TaskStatus(phase: .failed, assignedAgent: "a", attempt: attempt, retries: retries, reason: .executionFailed)
    }

    // MARK: Backoff

    @Test func linearBackoffGrowsByTheBaseAndStopsAtTheCap() {
        let backoff = RetryBackoff(base: .seconds(2), cap: .seconds(7))
        #expect((1...5).map { backoff.delay(forRetry: $0, strategy: .linear) } == [.seconds(2), .seconds(4), .seconds(6), .seconds(7), .seconds(7)])
        #expect(backoff.delay(forRetry: 0, strategy: .linear) == .seconds(2))
        #expect(backoff.delay(forRetry: .max, strategy: .linear) == .seconds(7))
    }

    @Test func exponentialBackoffDoublesAndStopsAtTheCap() {
        let backoff = RetryBackoff(base: .milliseconds(500), cap: .seconds(5))
        #expect((1...6).map { backoff.delay(forRetry: $0, strategy: .exponential) }
            == [.milliseconds(500), .seconds(1), .seconds(2), .seconds(4), .seconds(5), .seconds(5)])
        #expect(backoff.delay(forRetry: .max, strategy: .exponential) == .seconds(5))
        #expect(RetryBackoff().delay(forRetry: 9, strategy: .exponential) == .seconds(256))
        #expect(RetryBackoff().delay(forRetry: 10, strategy: .exponential) == .seconds(300))
    }

    // MARK: Pending

    @Test func aNewTaskIsOfferedAndNeedsAttentionAtItsDeadline() {
        #expect(policy.decide(task(), now: now, lostAgents: []) == TaskDecision(action: .offer, nextAttention: nil))
        let deadline = now.adding(.seconds(30))
        #expect(policy.decide(task(deadline: deadline), now: now, lostAgents: []) == TaskDecision(action: .offer, nextAttention: deadline))
    }

    @Test func aTaskBackingOffWaitsUntilExactlyItsNextAttemptTime() {
        let next = now.adding(.seconds(4))
        let backingOff = task(TaskStatus(phase: .pending, retries: 1, nextAttemptTime: next, reason: .retryBackoff))
        #expect(policy.decide(backingOff, now: now, lostAgents: []) == TaskDecision(action: .none, nextAttention: next))
        #expect(policy.decide(backingOff, now: next.adding(.nanoseconds(-1)), lostAgents: []).action == .none)
        #expect(policy.decide(backingOff, now: next, lostAgents: []) == TaskDecision(action: .offer, nextAttention: nil))
    }

    @Test func theDeadlineIsTheNextAttentionWhenItComesBeforeTheBackoffEnds() {
        let deadline = now.adding(.seconds(2))
        let backingOff = task(TaskStatus(phase: .pending, nextAttemptTime: now.adding(.seconds(4))), deadline: deadline)
        #expect(policy.decide(backingOff, now: now, lostAgents: []) == TaskDecision(action: .none, nextAttention: deadline))
    }

    // MARK: Failed attempts

    @Test func aFailedAttemptWithRetriesLeftIsRetriedAfterItsBackoff() {
        let linear = task(failedAttempt(retries: nil), retryPolicy: RetryPolicy(maxRetries: 3, backoffStrategy: .linear))
        #expect(policy.decide(linear, now: now, lostAgents: [])
            == TaskDecision(action: .retry(retries: 1, nextAttemptTime: now.adding(.seconds(1)), backoff: .seconds(1)),
                            nextAttention: now.adding(.seconds(1))))
        let secondLinear = task(failedAttempt(retries: 2), retryPolicy: RetryPolicy(maxRetries: 3, backoffStrategy: .linear))
        #expect(policy.decide(secondLinear, now: now, lostAgents: []).action
            == .retry(retries: 3, nextAttemptTime: now.adding(.seconds(3)), backoff: .seconds(3)))
        // No policy: the CRD's defaults, exponential with 3 retries.
        let exponential = task(failedAttempt(retries: 2))
        #expect(policy.decide(exponential, now: now, lostAgents: []).action
            == .retry(retries: 3, nextAttemptTime: now.adding(.seconds(4)), backoff: .seconds(4)))
    }

    @Test func aRetryBacksOffNoLaterThanTheDeadlineForAttention() {
        let deadline = now.adding(.milliseconds(1_500))
        let failed = task(failedAttempt(retries: 1), deadline: deadline)
        #expect(policy.decide(failed, now: now, lostAgents: []).nextAttention == deadline)
    }

    @Test func aFailedAttemptWithNoRetriesLeftFailsForGood() {
        for (max, spent) in [(3, 3), (0, 0), (1, 4)] {
            let failed = task(failedAttempt(retries: spent), retryPolicy: RetryPolicy(maxRetries: max))
            let decision = policy.decide(failed, now: now, lostAgents: [])
            guard case .fail(let reason, _) = decision.action else {
                Issue.record("expected RetriesExhausted for \(spent) of \(max), got \(decision)")
                continue
            }
            #expect(reason == .retriesExhausted)
            #expect(decision.nextAttention == nil)
        }
    }

    // MARK: Deadline and cancellation

    @Test func pastItsDeadlineATaskFailsInEveryPhaseThatIsNotFinal() {
        let deadline = now
        for phase in [nil, TaskPhase.pending, .assigned, .running, .failed] {
            let late = task(TaskStatus(phase: phase, assignedAgent: "a", reason: phase == .failed ? .executionFailed : nil), deadline: deadline)
            #expect(reason(of: policy.decide(late, now: now, lostAgents: [])) == .deadlineExceeded, "\(String(describing: phase))")
        }
        let early = task(deadline: now.adding(.nanoseconds(1)))
        #expect(policy.decide(early, now: now, lostAgents: []).action == .offer)
    }

    @Test func aCancelRequestFailsATaskInEveryPhaseThatIsNotFinalAndComesBeforeTheDeadline() {
        for phase in [nil, TaskPhase.pending, .assigned, .running, .failed] {
            let cancelled = task(TaskStatus(phase: phase, assignedAgent: "a", reason: phase == .failed ? .executionFailed : nil),
                                 deadline: now.adding(.seconds(-1)), cancel: true)
            #expect(reason(of: policy.decide(cancelled, now: now, lostAgents: ["a"])) == .cancelled, "\(String(describing: phase))")
        }
    }

    @Test func aFinalTaskNeedsNothingWhateverHappensToIt() {
        let finals = [TaskStatus(phase: .completed), TaskStatus(phase: .failed, reason: .cancelled),
                      TaskStatus(phase: .failed, reason: .retriesExhausted)]
        for status in finals {
            let final = task(status, deadline: now.adding(.seconds(-5)), cancel: true)
            #expect(policy.decide(final, now: now, lostAgents: []) == TaskDecision(action: .none, nextAttention: nil))
        }
    }

    // MARK: Agent loss

    @Test func aTaskHeldByALostAgentGoesBackToPendingUntilItsSeparateBudgetIsSpent() {
        for phase in [TaskPhase.assigned, .running] {
            let held = task(TaskStatus(phase: phase, assignedAgent: "a", attempt: 2, retries: 3, agentLossRetries: nil),
                            retryPolicy: RetryPolicy(maxRetries: 3))
            #expect(policy.decide(held, now: now, lostAgents: ["a"]).action == .requeueAfterAgentLoss(agent: "a", agentLossRetries: 1))
            #expect(policy.decide(held, now: now, lostAgents: ["b"]).action == .none)
        }
        let spent = task(TaskStatus(phase: .running, assignedAgent: "a", agentLossRetries: 5))
        #expect(reason(of: policy.decide(spent, now: now, lostAgents: ["a"])) == .agentLossRetriesExhausted)
        let almost = task(TaskStatus(phase: .running, assignedAgent: "a", agentLossRetries: 4))
        #expect(policy.decide(almost, now: now, lostAgents: ["a"]).action == .requeueAfterAgentLoss(agent: "a", agentLossRetries: 5))
    }

    @Test func anAttemptItsRestartedAgentReportsLostSpendsTheAgentLossBudgetNotARetry() {
        // The agent found the attempt Running under its name after a restart (AgentReports.lost).
        let lost = task(TaskStatus(phase: .failed, assignedAgent: "a", attempt: 2, retries: 3, agentLossRetries: 1, reason: .agentLost),
                        retryPolicy: RetryPolicy(maxRetries: 3))
        #expect(!lost.status.isFinal)
        #expect(policy.decide(lost, now: now, lostAgents: []).action == .requeueAfterAgentLoss(agent: "a", agentLossRetries: 2))
        let spent = task(TaskStatus(phase: .failed, assignedAgent: "a", agentLossRetries: 5, reason: .agentLost))
        #expect(reason(of: policy.decide(spent, now: now, lostAgents: [])) == .agentLossRetriesExhausted)
    }

    @Test func aRunningTaskOnAHealthyAgentNeedsAttentionOnlyAtItsDeadline() {
        let deadline = now.adding(.seconds(60))
        let running = task(TaskStatus(phase: .running, assignedAgent: "a", attempt: 1), deadline: deadline)
        #expect(policy.decide(running, now: now, lostAgents: []) == TaskDecision(action: .none, nextAttention: deadline))
    }

    private func reason(of decision: TaskDecision) -> Reason? {
        if case .fail(let reason, _) = decision.action { return reason }
        return nil
    }
}

/// The statuses the actions lead to.
@Suite struct TaskTransitionsTests {
    let now = Timestamp(secondsSinceEpoch: 1_800_000_000)

    @Test func aRetryReturnsToPendingWithoutTheAgentAndKeepsTheAttempt() throws {
        var metadata = ObjectMeta(name: "t", namespace: "default")
        metadata.generation = 2
        let running = TaskResource(metadata: metadata,
                                   status: TaskStatus(phase: .failed, assignedAgent: "a", startTime: now, attempt: 3,
                                                      reason: .executionFailed,
                                                      conditions: [Condition(type: .running, status: .true, reason: .started)]))
        let next = now.adding(.seconds(2))
        let status = try #require(TaskTransitions.status(after: .retry(retries: 2, nextAttemptTime: next, backoff: .seconds(2)),
                                                         from: running, now: now))
        #expect(status.phase == .pending)
        #expect(status.assignedAgent == nil && status.startTime == nil)
        #expect(status.attempt == 3, "only an assignment raises the fencing token")
        #expect(status.retries == 2 && status.nextAttemptTime == next && status.reason == .retryBackoff)
        #expect(status.conditions[.scheduled]?.status == .false && status.conditions[.scheduled]?.reason == .retryBackoff)
        #expect(status.conditions[.running]?.status == .false)
        #expect(status.observedGeneration == 2)
        #expect(!status.isFinal)
    }

    @Test func aFailureIsFinalWithItsConditionAndCompletionTime() throws {
        let running = TaskResource(metadata: ObjectMeta(name: "t", namespace: "default"),
                                   status: TaskStatus(phase: .running, assignedAgent: "a", attempt: 1))
        let status = try #require(TaskTransitions.status(after: .fail(reason: .cancelled, message: "m"), from: running, now: now))
        #expect(status.phase == .failed && status.reason == .cancelled && status.completionTime == now)
        #expect(status.conditions[.failed]?.status == .true && status.conditions[.failed]?.lastTransitionTime == now)
        #expect(status.assignedAgent == "a" && status.attempt == 1)
        #expect(status.isFinal)
        #expect(TaskTransitions.status(after: .offer, from: running, now: now) == nil)
    }

    @Test func anAssignmentRaisesTheAttempt() {
        let pending = TaskResource(metadata: ObjectMeta(name: "t", namespace: "default"),
                                   status: TaskStatus(phase: .pending, attempt: 4, nextAttemptTime: now))
        let status = TaskTransitions.assigned(pending, to: "b", now: now)
        #expect(status.phase == .assigned && status.assignedAgent == "b" && status.attempt == 5 && status.nextAttemptTime == nil)
        #expect(status.conditions[.scheduled]?.status == .true)
    }
}
