import ConductorAPI
import KubeClient
import Logging

/// The task actors' supervisor: a `TaskActor` for each Task that needs one, fed by the task informer's events.
/// It makes an actor when a task's event, a recheck or a waiter comes and the task has none, forwards its
/// updates, retires it when the task is deleted or once nothing needs it (nobody awaits the task and no timer
/// is armed for it: see `TaskActor.retireIfIdle`), and restarts an actor whose work threw, rebuilding it from
/// the informer's cache after a backoff. Agent events feed `AgentHealth` and make the tasks a lost agent held
/// decide again.
///
///     let supervisor = Supervisor(tasks: taskInformer, agents: agentInformer, context: context)
///     group.addTask { await supervisor.run() }
///     let finished = try await supervisor.awaitTerminal("default/my-task")
public actor Supervisor {
    private let tasks: Informer<TaskResource>
    private let agents: Informer<Agent>?
    private let context: TaskActorContext
    /// What every task actor points at, made once.
    private let sharedContext: TaskActorContext.Shared
    /// The wait before restarting an actor, by how often that task's actor was restarted (exponential).
    private var restartsInARow: ConsecutiveFailures<String>

    private var actors: [String: TaskActor] = [:]
    /// Set once `run()` has ended its drains.
    private var stopped = false
    /// Actors restarted after their work threw, since the supervisor started.
    public private(set) var restarts = 0
    /// Actors whose mailbox got an input while no drain ran: `run()` starts a drain for each.
    private nonisolated let wakeups: AsyncStream<TaskActor>
    private nonisolated let waker: AsyncStream<TaskActor>.Continuation

    public init(tasks: Informer<TaskResource>, agents: Informer<Agent>?, context: TaskActorContext,
                restartBackoff: RetryBackoff = RetryBackoff(base: .milliseconds(100), cap: .seconds(30))) {
        self.tasks = tasks
        self.agents = agents
        self.context = context
        sharedContext = TaskActorContext.Shared(context)
        restartsInARow = ConsecutiveFailures(backoff: restartBackoff)
        (wakeups, waker) = AsyncStream.makeStream(of: TaskActor.self)
    }

    /// How many actors are live now.
    public var actorCount: Int { actors.count }

    /// Consumes the informers' events until the calling task is cancelled or the task informer stops; then
    /// retires every actor, answering their waiters with `TaskAwaitError.supervisorStopped`.
    public func run() async {
        await withDiscardingTaskGroup { group in
            if let agents {
                group.addTask { await self.followAgents(agents.events()) }
            }
            group.addTask { await self.followLeadership(self.context.leadership.gains()) }
            group.addTask {
                for await event in self.tasks.events() { await self.apply(event) }
                self.waker.finish()
            }
            // A drain per actor with something to handle; it ends when the mailbox is empty.
            for await actor in wakeups {
                group.addTask { await self.drive(actor) }
            }
            group.cancelAll()
        }
        // From here no actor is drained: a waiter that comes now is refused rather than handed a new actor
        // that nothing would answer (the loop below suspends, and lets callers in).
        stopped = true
        for (key, actor) in actors {
            await actor.retire(answering: .supervisorStopped(task: key))
        }
        actors.removeAll()
    }

    /// The task once it is final (see `TaskActor.awaitTerminal`). `key` is namespace/name.
    public func awaitTerminal(_ key: String) async throws -> TaskResource {
        try await awaitTerminal(key, created: nil, endedBy: nil)
    }

    /// For a task the caller has just created: the create's answer stands in until the informer sees the
    /// task, so that awaiting right after creating never finds it unknown. `early` can end the wait before
    /// the task does (see `TaskActor.awaitTerminal(endedBy:)`).
    public func awaitTerminal(created: TaskResource, endedBy early: EarlyWaitEnd? = nil) async throws -> TaskResource {
        try await awaitTerminal(created.key, created: created, endedBy: early)
    }

    private func awaitTerminal(_ key: String, created: TaskResource?, endedBy early: EarlyWaitEnd?) async throws -> TaskResource {
        while true {
            switch try finalOrActor(key, created: created) {
            case .final(let task):
                return task
            case .actor(let actor):
                do {
                    return try await actor.awaitTerminal(endedBy: early)
                } catch is TaskActor.Retired {
                    // Retired as idle after it was handed out: the next pass makes a new one.
                    continue
                }
            }
        }
    }

    /// Like `awaitTerminal(created:endedBy:)`, but nothing parks: registers `deliver`, called once when the task
    /// is final, when `early` ends the wait (`CancellationError`) or with `TaskAwaitError` (see
    /// `TaskActor.whenTerminal`). Returns once registered.
    public func whenTerminal(created: TaskResource, endedBy early: EarlyWaitEnd?,
                             deliver: @escaping @Sendable (Result<TaskResource, any Error>) -> Void) async {
        while true {
            let found: FinalOrActor
            do {
                found = try finalOrActor(created.key, created: created)
            } catch {
                return deliver(.failure(error))
            }
            switch found {
            case .final(let task):
                return deliver(.success(task))
            case .actor(let actor):
                // False: retired as idle after it was handed out; the next pass makes a new one.
                if await actor.whenTerminal(endedBy: early, deliver: deliver) { return }
            }
        }
    }

    private enum FinalOrActor {
        case final(TaskResource)
        case actor(TaskActor)
    }

    private func finalOrActor(_ key: String, created: TaskResource?) throws -> FinalOrActor {
        guard !stopped else { throw TaskAwaitError.supervisorStopped(task: key) }
        if let actor = actors[key], !actor.isRetired {
            actor.expectWaiter()
            return .actor(actor)
        }
        guard let known = tasks.get(key) ?? created else { throw TaskAwaitError.unknownTask(key) }
        if known.status.isFinal { return .final(known) }
        // No actor now (none was needed, or its event is queued behind this call, or not yet delivered): the
        // actor made now takes that event when it comes.
        return .actor(makeActor(for: known, expectingWaiter: true))
    }

    /// Callers parked on the task's actor (0 when it has none).
    func waiterCount(for key: String) async -> Int {
        await actors[key]?.waiterCount ?? 0
    }

    // MARK: Tasks

    /// Applies one task event: to the task's actor, made for it if needed.
    private func apply(_ event: InformerEvent<TaskResource>) {
        switch event {
        case .added(let task):
            if let actor = actors[task.key], actor.send(.observed(task)) { return }
            // A final task nobody awaits needs no actor (after a restart of the replica, most tasks are final).
            guard !task.status.isFinal else { return }
            makeActor(for: task)
        case .updated(let previous, let task):
            if let actor = actors[task.key], actor.send(.observed(task)) { return }
            // A task not final needs an actor to decide on it, and one that has just become final needs one to
            // record its end: seeded with the version before, so that it sees the change. A final task that
            // was final before needs none.
            guard !task.status.isFinal || !previous.status.isFinal else { return }
            makeActor(for: task, seededWith: previous)
        case .deleted(let task, _):
            guard let actor = actors.removeValue(forKey: task.key) else { return }
            restartsInARow.reset(task.key)
            Task { await actor.retire(answering: .deleted(task: task.key)) }
        }
    }

    /// A new actor for `task`, which decides on it at once. `previous`: the version the actor starts from, so
    /// that it sees the change to `task` (its end, above all).
    @discardableResult
    private func makeActor(for task: TaskResource, seededWith previous: TaskResource? = nil, expectingWaiter: Bool = false) -> TaskActor {
        let actor = TaskActor(task: previous ?? task, context: sharedContext) { [waker] actor in waker.yield(actor) }
        // Before its first input, so that it cannot be retired before the waiter parks.
        if expectingWaiter { actor.expectWaiter() }
        actors[task.key] = actor
        actor.send(.observed(task))
        return actor
    }

    /// Makes the task decide again: on its actor, or on a new one.
    private func recheck(_ task: TaskResource) {
        if let actor = actors[task.key], actor.send(.recheck(timer: nil)) { return }
        makeActor(for: task)
    }

    /// Feeds one actor its queued inputs, one at a time, until none is left or it is retired; restarts it when
    /// its work throws.
    private nonisolated func drive(_ actor: TaskActor) async {
        await MailboxFeeder.feed(
            actor.mailbox, clock: context.clock,
            handle: { (input) async throws(TaskWriteError) in try await actor.handle(input) },
            backoff: { await self.recordFailure(of: actor.key, $0) },
            restart: {
                await actor.restart(from: self.tasks.get(actor.key))
                actor.send(.recheck(timer: nil))
            },
            afterEach: {
                if await actor.retireIfIdle() { await self.forget(actor) }
            })
    }

    private func recordFailure(of key: String, _ error: TaskWriteError) -> Duration {
        restarts += 1
        ControllerMetrics.recordActorRestart()
        let (count, delay) = restartsInARow.record(key)
        context.logger.warning("task actor failed; restarting it from the cache", metadata: [
            "task": "\(key)", "error": "\(error)", "restarts": "\(count)", "delay": "\(delay)",
        ])
        return delay
    }

    /// Forgets a retired `actor` if it is still the one for its task (a deletion or a new actor may have
    /// replaced it).
    private func forget(_ actor: TaskActor) {
        guard actors[actor.key] === actor else { return }
        actors[actor.key] = nil
        restartsInARow.reset(actor.key)
    }

    // MARK: Leadership

    /// When the replica comes to lead, every task not final decides again (on its actor, or on a new one): as a
    /// follower the replica withheld its writes.
    private nonisolated func followLeadership(_ gains: AsyncStream<Void>) async {
        for await _ in gains {
            context.logger.info("leading: every task decides again")
            await recheckAllTasks()
        }
    }

    private func recheckAllTasks() {
        for task in tasks.list() where !task.status.isFinal { recheck(task) }
    }

    // MARK: Agents

    private nonisolated func followAgents(_ events: Informer<Agent>.Events) async {
        for await event in events {
            guard let lost = context.agentHealth.observe(event) else { continue }
            context.logger.info("agent is NotReady or deleted; its tasks decide again", metadata: ["agent": "\(lost)"])
            await recheckTasks(heldBy: lost)
        }
    }

    private func recheckTasks(heldBy agent: String) {
        // A scan of the cache: agent loss is rare next to task events, so no index is kept for it.
        for task in tasks.list() where task.status.assignedAgent == agent && task.status.effectivePhase.holdsAgent {
            recheck(task)
        }
    }
}
