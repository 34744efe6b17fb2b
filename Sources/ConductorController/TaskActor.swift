import ConductorAPI
import KubeClient
import Logging
import Synchronization

/// What every task actor of one supervisor shares.
public struct TaskActorContext: Sendable {
    public var policy: TaskLifecyclePolicy
    public var writer: any TaskStatusWriting
    /// Time for the policy (wall time) and for the actors' timers (sleep): a `ManualClock` in tests.
    public var clock: any KubeClock
    public var agentHealth: AgentHealth
    public var sink: any SchedulableTaskSink
    /// Only the leader writes lifecycle transitions; the others decide the same but leave the write to it.
    public var leadership: LeadershipGate
    /// Events on the tasks: the leader records them, so each happens once however many replicas run.
    public var events: any ControllerEventSink
    public var logger: Logger

    public init(policy: TaskLifecyclePolicy = TaskLifecyclePolicy(), writer: any TaskStatusWriting, clock: any KubeClock,
                agentHealth: AgentHealth = AgentHealth(), sink: any SchedulableTaskSink,
                leadership: LeadershipGate = LeadershipGate(leading: true), events: any ControllerEventSink = NoEvents(),
                logger: Logger) {
        self.policy = policy
        self.writer = writer
        self.clock = clock
        self.agentHealth = agentHealth
        self.sink = sink
        self.leadership = leadership
        self.events = events
        self.logger = logger
    }

    /// One context that every task actor of a supervisor points at: a copy in each actor (its existentials,
    /// policy and logger, some 300 bytes) was a share of every cached task's memory.
    final class Shared: Sendable {
        let value: TaskActorContext
        /// Every actor's timer, on one task.
        let timers: TimerQueue

        init(_ value: TaskActorContext) {
            self.value = value
            timers = TimerQueue(clock: value.clock)
        }
    }
}

/// What a task actor is told, in order, through its mailbox.
enum TaskActorInput: Sendable {
    /// The informer's latest version of the task.
    case observed(TaskResource)
    /// Decide again with the same object: its timer fired at `timer`, or (nil) something else changed,
    /// such as its agent's health, or the actor was restarted.
    case recheck(timer: Timestamp?)
}

/// Why a wait for a task's end ended without it.
public enum TaskAwaitError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The task was deleted before it was final.
    case deleted(task: String)
    /// The supervisor stopped (the replica is shutting down) before the task was final.
    case supervisorStopped(task: String)
    /// No such task is known to this replica's cache.
    case unknownTask(String)

    public var description: String {
        switch self {
        case .deleted(let task): "task \(task) was deleted before it finished"
        case .supervisorStopped(let task): "stopped waiting for task \(task): the controller is shutting down"
        case .unknownTask(let task): "no task \(task) is known (not created, or not yet seen by this replica)"
        }
    }
}

/// One task's mirror: holds the latest version the informer delivered, runs the lifecycle policy when it
/// changes or when its timer fires, writes the result through the fenced writer, offers the task to the
/// scheduler when it may be assigned, and answers those awaiting its end.
///
/// Inputs come through a mailbox the supervisor drains one at a time, so decisions never interleave, and only
/// while it holds something: an idle actor holds no task. The actor's own isolation covers `awaitTerminal`,
/// which callers reach directly.
///
/// An actor lives only while its task needs one: while it handles an input, while someone awaits the task, or
/// while its timer is armed. Otherwise (most Pending tasks, waiting for an agent; most running ones) the
/// supervisor retires it after each input, and the task's next event, recheck or waiter makes a new one from
/// the cache: 100,000 waiting tasks should not keep 100,000 actors.
actor TaskActor {
    /// Thrown to a caller that reached the actor after it was retired as idle: the supervisor then hands the
    /// caller a new actor for the task.
    struct Retired: Error {}

    nonisolated let key: String
    private var latest: TaskResource
    private let shared: TaskActorContext.Shared
    private var context: TaskActorContext { _read { yield shared.value } }
    /// Made when something is logged, not kept: a logger with the task in its metadata in every actor cost
    /// each cached task a dictionary.
    private var logger: Logger {
        var logger = shared.value.logger
        logger[metadataKey: "task"] = "\(key)"
        return logger
    }

    /// Answers a waiter once: a parked caller's continuation, or a registered callback (`whenTerminal`).
    typealias Delivery = @Sendable (Result<TaskResource, any Error>) -> Void

    private var waiters: [UInt64: Delivery] = [:]
    /// Why the actor was retired before its task was final: a caller that reaches it afterwards (it was handed
    /// the actor just before) gets this rather than parking where nothing will answer it.
    private var retiredWith: TaskAwaitError?
    /// Callers the supervisor handed this actor who have not reached `awaitTerminal` yet: the actor is not idle
    /// while one is on its way, or a new actor made for a waiter could be retired before the waiter parks.
    private nonisolated let waitersOnTheirWay = Atomic<Int>(0)
    private var nextWaiterID: UInt64 = 0

    /// Wakes the task when it next needs attention; a decision with the same time keeps it running.
    private var timer = WallClockTimer()
    /// The resourceVersion last offered, so that rechecks of an unchanged Pending task do not offer it again.
    private var offeredVersion: String?

    nonisolated let mailbox = Mailbox<TaskActorInput>()
    /// Asks the supervisor to drain the mailbox: called when an input arrives and no drain runs.
    private nonisolated let wake: @Sendable (TaskActor) -> Void

    init(task: TaskResource, context: TaskActorContext.Shared, wake: @escaping @Sendable (TaskActor) -> Void) {
        key = task.key
        latest = task
        shared = context
        self.wake = wake
    }

    /// Queues an input; never suspends, so the supervisor's event loop is never held up by one task. False
    /// when the actor was retired: the input was dropped, and the task needs a new actor.
    @discardableResult
    nonisolated func send(_ input: TaskActorInput) -> Bool {
        switch mailbox.push(input) {
        case .startDrain: wake(self)
        case .queued: break
        case .closed: return false
        }
        return true
    }

    /// Whether the actor was retired; a retired actor takes no input and parks no caller.
    nonisolated var isRetired: Bool { mailbox.isClosed }

    // MARK: Waiting for the end

    /// The task once it is final (Completed, or Failed for good): at once if it is already, else when the
    /// watch event carrying the final status arrives. No polling: the caller's continuation is parked here.
    /// Throws `TaskAwaitError` when the task is deleted or the supervisor stops first, and
    /// `CancellationError` when the calling task is cancelled or `early` ends the wait (which leaves the
    /// waiting task itself alone).
    func awaitTerminal(endedBy early: EarlyWaitEnd? = nil) async throws -> TaskResource {
        if let now = arrive() { return try now.get() }
        nextWaiterID += 1
        let id = nextWaiterID
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                // A cancellation that came before this point found no waiter to remove: answer it here.
                if Task.isCancelled {
                    continuation.resume(throwing: CancellationError())
                    letGoIfIdle()
                } else {
                    park({ continuation.resume(with: $0) }, as: id, endedBy: early)
                }
            }
        } onCancel: {
            Task { await self.cancelWaiter(id) }
        }
    }

    /// Like `awaitTerminal`, but nothing parks: `deliver` is called once with the task when it is final (from
    /// this actor), or with `CancellationError` when `early` ends the wait, or with `TaskAwaitError`. A waiting
    /// call then holds no Swift task, only this closure (Tests/e2e/measure_mcp_waits.py). False: the actor was
    /// retired as idle after it was handed out, `deliver` was not called, and the caller asks for a new one.
    func whenTerminal(endedBy early: EarlyWaitEnd?, deliver: @escaping Delivery) -> Bool {
        if let now = arrive() {
            if case .failure(let error) = now, error is Retired { return false }
            deliver(now)
            return true
        }
        nextWaiterID += 1
        park(deliver, as: nextWaiterID, endedBy: early)
        return true
    }

    /// What a caller the supervisor handed this actor gets without parking: the task when it is final, the error
    /// the actor was retired with, or `Retired` when it was retired as idle. Nil: the caller parks.
    private func arrive() -> Result<TaskResource, any Error>? {
        waitersOnTheirWay.subtract(1, ordering: .relaxed)
        if latest.status.isFinal {
            letGoIfIdle()
            return .success(latest)
        }
        if let retiredWith { return .failure(retiredWith) }
        // Closed with no error to answer: retired as idle (`retireIfIdle`).
        if isRetired { return .failure(Retired()) }
        return nil
    }

    /// Keeps `deliver` until the task is final, the actor retires, or `early` ends the wait.
    private func park(_ deliver: @escaping Delivery, as id: UInt64, endedBy early: EarlyWaitEnd?) {
        waiters[id] = deliver
        early?.whenParked { Task { await self.cancelWaiter(id) } }
    }

    private func cancelWaiter(_ id: UInt64) {
        guard let waiter = waiters.removeValue(forKey: id) else { return }
        waiter(.failure(CancellationError()))
        letGoIfIdle()
    }

    /// A caller leaving without a new input may leave the actor with nothing to do (it may have been kept for
    /// that caller alone): a pass through the mailbox lets the supervisor retire it.
    private func letGoIfIdle() {
        if waiters.isEmpty { send(.recheck(timer: nil)) }
    }

    /// Callers parked in `awaitTerminal` or registered with `whenTerminal`.
    var waiterCount: Int { waiters.count }

    /// Notes a caller that will call `awaitTerminal` or `whenTerminal` next (the supervisor, as it hands the actor out).
    nonisolated func expectWaiter() {
        waitersOnTheirWay.add(1, ordering: .relaxed)
    }

    /// Retires the actor when nothing needs it: nobody waits, no input is queued, and its task is final or
    /// has no timer armed (each decision on it is made again by its next event, or by a recheck, on a new
    /// actor). Checked on the actor and closed under the mailbox's lock, so no caller parks and no input is
    /// queued in between. False: the actor stays.
    func retireIfIdle() -> Bool {
        guard waiters.isEmpty, waitersOnTheirWay.load(ordering: .relaxed) <= 0,
              latest.status.isFinal || timer.armedFor == nil, mailbox.closeIfEmpty() else { return false }
        timer.cancel(in: shared.timers)
        return true
    }

    // MARK: Work

    /// Handles one input. Throws when a write failed other than by a conflict: the supervisor then restarts
    /// the actor (`restart(from:)`).
    func handle(_ input: TaskActorInput) async throws(TaskWriteError) {
        switch input {
        case .observed(let task):
            let wasFinal = latest.status.isFinal
            latest = task
            if task.status.isFinal {
                if !wasFinal { recordEnd(of: task) }
                resumeWaiters(with: .success(task))
            }
        case .recheck(let firedTimer):
            if let firedTimer { timer.fired(firedTimer) }
        }
        try await reconcile()
    }

    private func reconcile() async throws(TaskWriteError) {
        let now = Timestamp(context.clock.wallTime)
        let task = latest
        // Only the task's own agent matters to the policy: asked about alone, rather than copying every lost agent.
        let lost: Set<String> = task.status.assignedAgent.map { context.agentHealth.isLost($0) ? [$0] : [] } ?? []
        let decision = context.policy.decide(task, now: now, lostAgents: lost)
        arm(at: decision.nextAttention, now: now)
        switch decision.action {
        case .none:
            return
        case .offer:
            guard offeredVersion != task.resourceVersion else { return }
            offeredVersion = task.resourceVersion
            context.sink.offer(task)
        case .retry, .requeueAfterAgentLoss, .fail:
            guard let status = TaskTransitions.status(after: decision.action, from: task, now: now) else { return }
            // A follower decides again when it comes to lead (the supervisor then rechecks every task not final).
            guard context.leadership.permitsWrite(by: .taskLifecycle) else {
                logger.debug("not leading; the leader writes this transition", metadata: ["action": "\(decision.action)"])
                return
            }
            let outcome = try await context.writer.write(status, over: task, holding: task.status.attempt)
            switch outcome {
            case .written(let stored):
                recordTransition(decision.action, to: stored)
                logger.info("task status written", metadata: [
                    "phase": "\(stored.status.effectivePhase.rawValue)", "reason": "\(stored.status.reason?.rawValue ?? "")",
                    "resourceVersion": "\(stored.resourceVersion ?? "")",
                ])
            case .conflict:
                // The cache is behind the server: the newer version is on its way through the watch, and the
                // decision is made again then.
                logger.debug("task changed since it was read; waiting for the newer version", metadata: ["resourceVersion": "\(task.resourceVersion ?? "")"])
            case .fenced(let held, let current):
                logger.warning("status write fenced off", metadata: ["held": "\(held.map(String.init) ?? "none")", "current": "\(current.map(String.init) ?? "none")"])
            case .notFound:
                logger.debug("task is gone; its deletion event retires the actor")
            }
        }
    }

    // MARK: Telling operators

    /// A transition the actor wrote: a retry or a requeue is an Event of its own; a failure is told when the
    /// final status is observed (`recordEnd`), as an agent's is.
    private func recordTransition(_ action: TaskAction, to stored: TaskResource) {
        switch action {
        case .retry(let retries, _, let backoff):
            ControllerMetrics.recordRetry()
            context.events.record(ObjectReference(stored), type: .warning, reason: ControllerEventReason.retrying,
                                  message: "attempt \(stored.status.attempt ?? 0) failed; retry \(retries) in \(backoff)")
        case .requeueAfterAgentLoss(let agent, let agentLossRetries):
            ControllerMetrics.recordAgentLossRequeue()
            context.events.record(ObjectReference(stored), type: .warning, reason: ControllerEventReason.agentLost,
                                  message: "agent \(agent) holding attempt \(stored.status.attempt ?? 0) was lost; Pending again (agent loss \(agentLossRetries))")
        case .none, .offer, .fail:
            break
        }
    }

    /// The task became final: Completed, or Failed with its reason. Recorded by the leader only.
    private func recordEnd(of task: TaskResource) {
        guard context.leadership.isLeading else { return }
        let status = task.status
        if status.effectivePhase == .completed {
            context.events.record(ObjectReference(task), type: .normal, reason: ControllerEventReason.completed,
                                  message: "attempt \(status.attempt ?? 0) completed on agent \(status.assignedAgent ?? "none")")
        } else {
            context.events.record(ObjectReference(task), type: .warning, reason: ControllerEventReason.failed,
                                  message: "\(status.reason?.rawValue ?? "Failed"): \(status.message ?? "no message")")
        }
    }

    /// Keeps one timer, for the earliest time the task needs attention with nothing else changing.
    private func arm(at target: Timestamp?, now: Timestamp) {
        timer.arm(at: target, now: now, queue: shared.timers) { [weak self] target in
            self?.send(.recheck(timer: target))
        }
    }

    // MARK: Supervision

    /// Drops what the actor worked with and starts again from `cached` (the informer's version, when it still
    /// has the task). Those awaiting the task stay parked: they wait for the task, not for this attempt at
    /// handling it.
    func restart(from cached: TaskResource?) {
        timer.cancel(in: shared.timers)
        offeredVersion = nil
        if let cached { latest = cached }
    }

    /// Ends the actor: its timer stops, its mailbox closes (so a drain of it ends) and those still waiting get
    /// `error`.
    func retire(answering error: TaskAwaitError) {
        timer.cancel(in: shared.timers)
        mailbox.close()
        retiredWith = error
        resumeWaiters(with: .failure(error))
    }

    private func resumeWaiters(with result: Result<TaskResource, any Error>) {
        let parked = waiters.values
        waiters.removeAll()
        for waiter in parked { waiter(result) }
    }
}
