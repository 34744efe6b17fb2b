import ConductorAPI
import ConductorScheduler
import KubeClient
import Logging

/// The assignment loop's tunables.
public struct AssignmentLoopConfiguration: Sendable {
    /// At most this many inputs are taken from the queue for one pass.
    public var batchSize: Int
    /// At most this many status writes are in flight at once. A pass does not wait for the writes of the one
    /// before: it schedules the next batch while they are under way, and waits only for a free write.
    public var maxConcurrentWrites: Int
    public var policy: SchedulingPolicy
    /// The wait before a task whose assignment write failed (other than by a conflict, which the task's actor
    /// answers with a fresh offer) is offered again, by how often that happened in a row.
    public var writeRetryBackoff: RetryBackoff
    /// Inputs from the watches that may wait in the queue before the loop stops taking them in, until it has
    /// drained half: while the API server is slow a pass waits on its writes, and the watches' events then
    /// wait in the informers and on the connection (HTTP/2 flow control) instead of piling up here. Task
    /// actors' offers never wait; there is at most one per task at a time.
    public var queueLimit = 4096

    public init(batchSize: Int = 512, maxConcurrentWrites: Int = 64, policy: SchedulingPolicy = SchedulingPolicy(),
                writeRetryBackoff: RetryBackoff = RetryBackoff(base: .milliseconds(200), cap: .seconds(10))) {
        self.batchSize = max(batchSize, 1)
        self.maxConcurrentWrites = max(maxConcurrentWrites, 1)
        self.policy = policy
        self.writeRetryBackoff = writeRetryBackoff
    }
}

/// What the loop did since it started: for metrics, and for tests that check that a write happened once.
public struct AssignmentStatistics: Sendable, Hashable {
    /// Batches taken from the queue and scheduled.
    public var passes = 0
    public var assignmentsWritten = 0
    /// Assignments refused with 409 because the task changed since the cache's version.
    public var conflicts = 0
    /// Scheduled=False conditions written on tasks no agent could take.
    public var unschedulableConditionsWritten = 0
    /// Status writes that failed other than by a conflict, fencing or a missing task.
    public var writeErrors = 0
}

/// Places Pending tasks on agents: the scheduler's one consumer.
///
/// Task actors offer their due Pending tasks (`SchedulableTaskSink`), and the loop's own watchers report agent
/// and task changes, all through one lock-free `AssignmentQueue`. The loop drains it in batches; each pass brings
/// the `Scheduler` up to date (agent snapshots rebuilt from the Agent informer and the tasks that the Task
/// informer shows holding each agent's slots), schedules the offered tasks together with the waiting tasks that
/// an agent's new room lets in, and starts a write of every decision. The next pass does not wait for them: a
/// task arriving meanwhile is placed at once, and only a task whose own write is under way waits for its answer.
/// - an assignment with `TaskStatusWriting.assign`, conditional on the resourceVersion read; on success the
///   scheduler's reservation is confirmed, on a conflict it is released and the task's actor offers the newer
///   version when it arrives; so a task is never assigned twice, and an agent's slots are counted the moment
///   they are taken, before any watch event shows it;
/// - for a task no agent can take, a Scheduled=False condition saying why, written only when the reason
///   changes. The task then waits in the scheduler and comes back the moment an agent gains room for it:
///   there is no requeue delay.
///
/// Only a leader schedules (`LeadershipGate`). A follower mirrors: it keeps the agents' snapshots and the
/// task endings up to date, and keeps the latest offer of each task, which it schedules the moment it leads.
///
/// One actor owns the scheduler, the queue's consumer and the bookkeeping, so nothing here takes a lock;
/// producers only enqueue.
///
///     let loop = try AssignmentLoop(tasks: taskInformer, agents: agentInformer, writer: writer, clock: clock, logger: logger)
///     let supervisor = Supervisor(tasks: taskInformer, agents: agentInformer, context: TaskActorContext(..., sink: loop, ...))
///     group.addTask { await loop.run() }
public actor AssignmentLoop: SchedulableTaskSink {
    private nonisolated let queue: AssignmentQueue<AssignmentInput>
    /// Counts the inputs in `queue` and holds the watches' forwarders back over `configuration.queueLimit`.
    private nonisolated let queueRoom: DeliveryBudget
    private let consumer: AssignmentQueueConsumer<AssignmentInput>
    private nonisolated let tasks: Informer<TaskResource>
    private nonisolated let agents: Informer<Agent>
    private let writer: any TaskStatusWriting
    /// Labels each assigned task with its agent, when asked (API servers older than 1.31).
    private let labeler: (any AssignedAgentLabeling)?
    private let clock: any KubeClock
    private let configuration: AssignmentLoopConfiguration
    private nonisolated let leadership: LeadershipGate
    private let events: any ControllerEventSink
    private let logger: Logger

    private var scheduler: Scheduler
    /// The attempt of each assignment this loop wrote, until the task is final or deleted: a cached version or
    /// an offer with an older attempt predates that write and is not acted on.
    private var writtenAttempts: [TaskID: Int] = [:]
    /// The resourceVersion of each agent that its snapshot in the scheduler was built from.
    private var appliedAgentVersions: [String: String] = [:]
    /// Offers again the tasks whose assignment write failed (not by a conflict).
    private var retries: DelayedRetries<TaskID>
    /// As the last leadership input said; false until the gate's first answer arrives.
    private var leading = false
    /// The latest offer of each task that came while this replica did not lead.
    private var parkedOffers: [TaskID: TaskResource] = [:]
    /// When each task not yet assigned was first offered, for the scheduling-latency histogram.
    private var firstOffered: [TaskID: MonotonicInstant] = [:]
    /// Tasks whose assignment write is under way. Such a task is not scheduled again until its write answers; the
    /// latest offer of it that came meanwhile is kept and offered then (after a conflict, the newer version its
    /// actor sent). Its reservation stands until the answer, which settles it against the cache. (A Scheduled=False
    /// write is not tracked: it and a later assignment are both conditional on the version read, so one of them
    /// meets a conflict at worst.)
    private var assigning: [TaskID: TaskResource?] = [:]
    /// Writes under way, at most `configuration.maxConcurrentWrites`; a pass that needs more waits for one.
    private var writesInFlight = 0
    private var waitingForWriteRoom: [CheckedContinuation<Void, Never>] = []
    public private(set) var statistics = AssignmentStatistics()

    /// A pass re-schedules a task whose chosen agent turned out to have changed at most this many times, so
    /// that an agent that changes without pause cannot hold a pass up.
    private static let maximumRounds = 3

    /// Adds the indexes the loop reads to the informers (or uses those there).
    public init(tasks: Informer<TaskResource>, agents: Informer<Agent>, writer: any TaskStatusWriting,
                labeler: (any AssignedAgentLabeling)? = nil, clock: any KubeClock, leadership: LeadershipGate = LeadershipGate(leading: true), events: any ControllerEventSink = NoEvents(),
                logger: Logger, configuration: AssignmentLoopConfiguration = AssignmentLoopConfiguration()) throws(InformerError) {
        try InformerIndex.ensure(TaskResource.activeAgentIndex, on: tasks)
        try InformerIndex.ensure(Agent.nameIndex, on: agents)
        (queue, consumer) = AssignmentQueue<AssignmentInput>.make()
        queueRoom = DeliveryBudget(limit: max(configuration.queueLimit, 1))
        self.tasks = tasks
        self.agents = agents
        self.writer = writer
        self.labeler = labeler
        self.clock = clock
        self.configuration = configuration
        self.leadership = leadership
        self.events = events
        self.logger = logger
        scheduler = Scheduler(policy: configuration.policy)
        retries = DelayedRetries(backoff: configuration.writeRetryBackoff)
    }

    /// Enqueues the task; never blocks, so a task actor is never held up by scheduling.
    public nonisolated func offer(_ task: TaskResource) {
        enqueue(.offer(task))
    }

    /// Watches the informers and schedules until the calling task is cancelled.
    public func run() async {
        await withDiscardingTaskGroup { group in
            group.addTask { await self.forwardAgentEvents() }
            group.addTask { await self.forwardTaskEvents() }
            group.addTask {
                for await leading in self.leadership.changes() { self.enqueue(.leadership(leading)) }
            }
            await consume()
            group.cancelAll()
        }
        retries.cancelAll()
    }

    // MARK: Looking in

    /// What counts against the agent in the scheduler now.
    public func usage(ofAgent name: String) -> AgentUsage? { scheduler.usage(ofAgent: name) }

    /// Tasks no agent could take, waiting for one to gain room.
    public var waitingTaskCount: Int { scheduler.waitingTaskCount }

    /// The resourceVersion of the agent that the scheduler's view of it was built from.
    func appliedVersion(ofAgent name: String) -> String? { appliedAgentVersions[name] }

    /// Offers kept while this replica does not lead.
    public var parkedOfferCount: Int { parkedOffers.count }

    /// Inputs queued and not yet taken by a pass.
    nonisolated var queueDepth: Int { queueRoom.outstanding }

    // MARK: Producers

    /// Queues an input without waiting.
    private nonisolated func enqueue(_ input: AssignmentInput) {
        queueRoom.delivered()
        queue.enqueue(input)
    }

    private nonisolated func forwardAgentEvents() async {
        for await event in agents.events() {
            if case .deleted(let agent, _) = event {
                enqueue(.agentRemoved(name: agent.name))
            } else {
                enqueue(.agentChanged(name: event.object.name))
            }
            await queueRoom.waitForRoom()
        }
    }

    private nonisolated func forwardTaskEvents() async {
        for await event in tasks.events() {
            for input in AssignmentInput.inputs(for: event) { enqueue(input) }
            await queueRoom.waitForRoom()
        }
    }

    // MARK: The consumer

    private func consume() async {
        // Leaving the group waits for the writes under way; cancellation reaches them through it.
        await withDiscardingTaskGroup { writes in
            while !Task.isCancelled {
                // Room that a pass itself freed (a released reservation) is acted on without waiting for input.
                if !leading || !scheduler.mayHaveTasksToReoffer {
                    guard await consumer.waitForElements() else { return }
                }
                let inputs = consumer.drain(max: configuration.batchSize)
                queueRoom.taken(inputs.count)
                let (planned, now) = pass(inputs)
                let (writer, labeler) = (self.writer, self.labeler)
                for write in planned {
                    await takeWriteRoom()
                    guard !Task.isCancelled else {
                        abandon(write)
                        continue
                    }
                    writes.addTask { await self.finished(await write.perform(with: writer, labeler: labeler, now: now)) }
                }
            }
        }
    }

    private func takeWriteRoom() async {
        while writesInFlight >= configuration.maxConcurrentWrites {
            await withCheckedContinuation { waitingForWriteRoom.append($0) }
        }
        writesInFlight += 1
    }

    private func giveBackWriteRoom() {
        writesInFlight -= 1
        if !waitingForWriteRoom.isEmpty { waitingForWriteRoom.removeFirst().resume() }
    }

    /// A planned write not started because the loop is stopping: its room and its reservation go back.
    private func abandon(_ write: PlannedWrite) {
        giveBackWriteRoom()
        guard case .assign = write else { return }
        assigning[write.task] = nil
        releaseReservation(of: write.task)
    }

    /// A write answered: its outcome is recorded and its room given to a waiting pass. An assignment's task is then
    /// settled against the cache, since inputs saying that it ended (or was deleted) may have come while it was
    /// written, and could not release its reservation then; a failed write keeps its reservation (it may have
    /// landed) unless the task is gone. An offer of the task that came meanwhile is offered again.
    private func finished(_ result: WriteResult) {
        record(result)
        giveBackWriteRoom()
        if case .assignment(_, _, let outcome, _) = result {
            let id = result.task
            let kept = assigning.removeValue(forKey: id)
            let exists = tasks.get(id.rawValue) != nil
            if case .success = outcome { settle(id) } else if !exists { settle(id) }
            if case .some(.some(let offer)) = kept, exists { enqueue(.offer(offer)) }
        }
        if leading, scheduler.mayHaveTasksToReoffer { enqueue(.writeReleasedRoom) }
    }

    /// Brings the scheduler up to date with the inputs and returns the writes of what it decided, and its time.
    private func pass(_ inputs: [AssignmentInput]) -> (writes: [PlannedWrite], now: Timestamp) {
        statistics.passes += 1
        var offers: [TaskID: TaskResource] = [:]
        var changedAgents: Set<String> = []
        var endedTasks: Set<String> = []
        for input in inputs {
            switch input {
            case .offer(let task):
                let id = TaskID(task.key)
                offers[id] = task
                if firstOffered[id] == nil { firstOffered[id] = clock.now }
            case .agentChanged(let name), .agentRemoved(let name): changedAgents.insert(name)
            case .taskEnded(let key): endedTasks.insert(key)
            case .leadership(let nowLeading): noteLeadership(nowLeading)
            case .writeReleasedRoom: break  // The waiting tasks are offered again below.
            }
        }
        for name in changedAgents.sorted() { refreshAgent(named: name) }
        for key in endedTasks.sorted() { settle(TaskID(key)) }
        defer { ControllerMetrics.recordQueue(depth: queueDepth, waitingTasks: scheduler.waitingTaskCount) }
        let now = Timestamp(clock.wallTime)
        guard leading else {
            parkedOffers.merge(offers) { _, newer in newer }
            return ([], now)
        }
        offers.merge(parkedOffers) { newer, _ in newer }
        parkedOffers.removeAll()

        var reads: [TaskID: TaskResource] = [:]
        for (id, offered) in offers {
            if assigning[id] != nil {
                assigning[id] = .some(offered)
                continue
            }
            reads[id] = schedulableVersion(of: id, offered: offered, now: now)
        }
        if scheduler.mayHaveTasksToReoffer {
            for request in scheduler.takeTasksToReoffer(now: SchedulingInstant(now)) where reads[request.id] == nil {
                if assigning[request.id] != nil {
                    // Not scheduled twice at once: offered again when its write answers.
                    assigning[request.id] = .some(tasks.get(request.id.rawValue))
                    continue
                }
                reads[request.id] = schedulableVersion(of: request.id, offered: nil, now: now)
            }
        }
        guard !reads.isEmpty else { return ([], now) }
        return (plan(decide(reads, now: SchedulingInstant(now)), reads: reads, now: now), now)
    }

    /// The version of the task to schedule: the cache's, which is never older than an actor's offer, or the
    /// offer for a task the cache has not seen yet. Nil when the task is not to be scheduled now: gone, no
    /// longer Pending, cancelled, backing off, or not yet showing an assignment this loop wrote.
    private func schedulableVersion(of id: TaskID, offered: TaskResource?, now: Timestamp) -> TaskResource? {
        guard let task = tasks.get(id.rawValue) ?? offered else { return nil }
        let status = task.status
        guard status.effectivePhase == .pending, !task.spec.isCancelRequested,
              (status.attempt ?? 0) >= (writtenAttempts[id] ?? 0),
              status.nextAttemptTime.map({ $0 <= now }) ?? true
        else { return nil }
        return task
    }

    /// Schedules the tasks. An assignment to an agent whose cached version is newer than its snapshot in the
    /// scheduler (it may have just gone NotReady, or changed its slots) is taken back, the snapshot rebuilt, and
    /// the task placed again.
    private func decide(_ reads: [TaskID: TaskResource], now: SchedulingInstant) -> [SchedulingDecision] {
        var requests = reads.values.map { TaskRequest($0, now: now) }
        var decisions: [SchedulingDecision] = []
        for round in 1...Self.maximumRounds where !requests.isEmpty {
            let placed = scheduler.schedule(batch: requests, now: now)
            requests = []
            for decision in placed {
                if round < Self.maximumRounds, case .assign(let task, let agent) = decision, snapshotIsStale(agent) {
                    scheduler.release(task)
                    refreshAgent(named: agent)
                    requests.append(TaskRequest(reads[task]!, now: now))
                } else {
                    decisions.append(decision)
                }
            }
        }
        return decisions
    }

    private func noteLeadership(_ nowLeading: Bool) {
        guard nowLeading != leading else { return }
        leading = nowLeading
        logger.info(nowLeading ? "leading: scheduling" : "not leading: mirroring without scheduling", metadata: [
            "parkedOffers": "\(parkedOffers.count)",
        ])
    }

    // MARK: Agents

    private func cachedAgent(named name: String) -> Agent? {
        (try? agents.byIndex(Agent.nameIndex, name))?.first
    }

    private func snapshotIsStale(_ name: String) -> Bool {
        cachedAgent(named: name)?.resourceVersion != appliedAgentVersions[name]
    }

    /// Brings the scheduler's view of the agent in line with the caches: its spec and status from the Agent
    /// informer, its held slots from the tasks filed under it.
    private func refreshAgent(named name: String) {
        guard let agent = cachedAgent(named: name) else {
            let orphaned = scheduler.removeAgent(named: name)
            appliedAgentVersions[name] = nil
            if !orphaned.isEmpty {
                logger.info("agent deleted while tasks were assigned to it", metadata: [
                    "agent": "\(name)", "tasks": "\(orphaned.map(\.rawValue).joined(separator: ","))",
                ])
            }
            return
        }
        let held = (try? tasks.byIndex(TaskResource.activeAgentIndex, name)) ?? []
        scheduler.updateAgent(AgentSnapshot(agent, activeTasks: held))
        appliedAgentVersions[name] = agent.resourceVersion ?? ""
    }

    // MARK: Tasks

    /// Settles what the scheduler holds for a task that left Pending, left its agent or was deleted. A
    /// reservation is released only when the cache shows the task past the attempt this loop wrote and not
    /// holding a slot, and no assignment of it is being written (its answer settles it again); while it holds
    /// one, the agent's snapshot lists it and takes the reservation over.
    private func settle(_ id: TaskID) {
        guard let task = tasks.get(id.rawValue) else {
            parkedOffers[id] = nil
            scheduler.withdraw(id)
            releaseReservation(of: id)
            forget(id)
            return
        }
        if (task.status.attempt ?? 0) < (writtenAttempts[id] ?? 0) { return }
        let phase = task.status.effectivePhase
        if phase != .pending {
            scheduler.withdraw(id)
            parkedOffers[id] = nil
        }
        if !phase.holdsAgent, assigning[id] == nil { releaseReservation(of: id) }
        if task.status.isFinal { forget(id) }
    }

    private func releaseReservation(of id: TaskID) {
        if case .reserved = scheduler.placement(of: id) { scheduler.release(id) }
    }

    private func forget(_ id: TaskID) {
        writtenAttempts[id] = nil
        firstOffered[id] = nil
        retries.reset(id)
    }

    // MARK: Writing the decisions

    /// The writes of a pass's decisions; each task is marked as being written until its write answers.
    private func plan(_ decisions: [SchedulingDecision], reads: [TaskID: TaskResource], now: Timestamp) -> [PlannedWrite] {
        var planned: [PlannedWrite] = []
        for decision in decisions {
            guard let read = reads[decision.task] else { continue }
            switch decision {
            case .assign(_, let agent):
                planned.append(.assign(read, agent: agent))
            case .unschedulable(_, let reason):
                let status = TaskTransitions.unschedulable(
                    read, reason: reason.conditionReason, message: reason.message(for: read), now: now)
                if let status { planned.append(.unschedulable(read, status: status)) }
            }
        }
        for case .assign(let read, _) in planned { assigning[TaskID(read.key)] = .some(nil) }
        return planned
    }

    private func record(_ result: WriteResult) {
        switch result {
        case .assignment(let read, let agent, let outcome, let labelError):
            recordAssignment(read, agent: agent, outcome: outcome)
            if let labelError {
                ControllerMetrics.recordStatusWriteError(writer: "label")
                logger.warning("assigned, but the agent label was not written", metadata: ["task": "\(read.key)", "error": "\(labelError)"])
            }
        case .unschedulable(let read, let status, let outcome):
            switch outcome {
            case .success(.written):
                statistics.unschedulableConditionsWritten += 1
                logger.debug("task waits for an agent", metadata: [
                    "task": "\(read.key)", "reason": "\(status.reason?.rawValue ?? "")",
                ])
            case .success:
                break  // The task changed: its newer version is offered again if it is still Pending.
            case .failure(let error):
                statistics.writeErrors += 1
                ControllerMetrics.recordStatusWriteError(writer: "assignment")
                logger.warning("could not write why a task waits", metadata: ["task": "\(read.key)", "error": "\(error)"])
            }
        }
    }

    private func recordAssignment(_ read: TaskResource, agent: String, outcome: Result<TaskWriteOutcome, TaskWriteError>) {
        let id = TaskID(read.key)
        switch outcome {
        case .success(.written(let stored)):
            scheduler.confirm(id)
            let attempt = stored.status.attempt ?? 1
            writtenAttempts[id] = attempt
            retries.reset(id)
            statistics.assignmentsWritten += 1
            ControllerMetrics.recordAssignment(attempt: attempt, schedulingLatency: firstOffered.removeValue(forKey: id).map { $0.duration(to: clock.now) })
            events.record(ObjectReference(stored), type: .normal,
                          reason: attempt > 1 ? ControllerEventReason.reassigned : ControllerEventReason.assigned,
                          message: "attempt \(attempt) assigned to agent \(agent)")
            // Debug, not info: a line per task was 2 % of `conductor dev`'s CPU at 300 tasks/s (profile), and the
            // Event above, the Task's conditions and the metrics say it already; kube-scheduler too logs a binding
            // only from -v=2. CONDUCTOR_LOG_LEVEL=debug shows it.
            logger.debug("task assigned", metadata: [
                "task": "\(read.key)", "agent": "\(agent)", "attempt": "\(attempt)",
            ])
        case .success(.conflict):
            // The cache was behind: the task's actor offers the newer version if it is still Pending. Only a
            // reservation goes: if the agent's snapshot already lists the task (the write landed and its answer
            // was lost, a retry meeting the change it made), that listing is the truth and keeps counting.
            releaseReservation(of: id)
            statistics.conflicts += 1
            ControllerMetrics.recordAssignmentConflict()
            logger.debug("assignment conflicted; waiting for the newer version", metadata: ["task": "\(read.key)"])
        case .success(.fenced), .success(.notFound):
            releaseReservation(of: id)
        case .failure(let error):
            // The reservation stays: the write may have landed with its answer lost. If it did, the task's
            // event settles it (the agent's snapshot takes it over); if not, the retry places the task afresh,
            // which releases it first. Releasing now could give the slot to another task as well.
            statistics.writeErrors += 1
            ControllerMetrics.recordStatusWriteError(writer: "assignment")
            retryLater(read, after: error)
        }
    }

    /// Offers the task again after a backoff: the failed write left it Pending at the same resourceVersion, so
    /// its actor has nothing new to offer.
    private func retryLater(_ task: TaskResource, after error: TaskWriteError) {
        let (failures, delay) = retries.schedule(TaskID(task.key), clock: clock) { [weak self] in self?.enqueue(.offer(task)) }
        logger.warning("assignment write failed; offering the task again later", metadata: [
            "task": "\(task.key)", "error": "\(error)", "failures": "\(failures)", "delay": "\(delay)",
        ])
    }
}

/// One status write a pass decided on.
private enum PlannedWrite: Sendable {
    case assign(TaskResource, agent: String)
    case unschedulable(TaskResource, status: TaskStatus)

    var task: TaskID {
        switch self {
        case .assign(let read, _), .unschedulable(let read, _): TaskID(read.key)
        }
    }

    func perform(with writer: any TaskStatusWriting, labeler: (any AssignedAgentLabeling)?, now: Timestamp) async -> WriteResult {
        switch self {
        case .assign(let read, let agent):
            let outcome: TaskWriteOutcome
            do {
                outcome = try await writer.assign(read, to: agent, now: now)
            } catch {
                return .assignment(read, agent: agent, .failure(error), labelError: nil)
            }
            guard let labeler, case .written(let stored) = outcome else { return .assignment(read, agent: agent, .success(outcome), labelError: nil) }
            do {
                try await labeler.label(stored, assignedTo: agent)
                return .assignment(read, agent: agent, .success(outcome), labelError: nil)
            } catch {
                return .assignment(read, agent: agent, .success(outcome), labelError: error)
            }
        case .unschedulable(let read, let status):
            do {
                return .unschedulable(read, status: status, .success(try await writer.write(status, over: read, holding: read.status.attempt)))
            } catch {
                return .unschedulable(read, status: status, .failure(error))
            }
        }
    }
}

private enum WriteResult: Sendable {
    case assignment(TaskResource, agent: String, Result<TaskWriteOutcome, TaskWriteError>, labelError: TaskWriteError?)
    case unschedulable(TaskResource, status: TaskStatus, Result<TaskWriteOutcome, TaskWriteError>)

    var task: TaskID {
        switch self {
        case .assignment(let read, _, _, _), .unschedulable(let read, _, _): TaskID(read.key)
        }
    }
}
