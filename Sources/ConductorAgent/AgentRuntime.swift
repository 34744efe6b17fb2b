import ConductorAPI
import KubeClient
import KubeJSON
import Logging
import Synchronization

/// Who the agent is and how it heartbeats.
public struct AgentConfiguration: Sendable {
    /// The Agent's name (the pod's name in a cluster): also its heartbeat Lease's name.
    public var name: String
    /// Where the Agent and its Lease live.
    public var namespace: String
    public var spec: AgentSpec
    /// Where its tasks may be: nil for every namespace.
    public var taskNamespace: String?
    /// How often the Lease is renewed, and for how long a renewal counts.
    public var heartbeatInterval: Duration
    public var leaseDurationSeconds: Int
    /// Watch the tasks by the label `Labels.assignedAgent` rather than the field `status.assignedAgent`: for API
    /// servers older than 1.31, with the controller run with `--label-assigned-agent`.
    public var selectTasksByLabel: Bool

    public init(name: String, namespace: String = Installation.systemNamespace, spec: AgentSpec, taskNamespace: String? = nil,
                heartbeatInterval: Duration = HeartbeatLease.defaultRenewInterval,
                leaseDurationSeconds: Int = HeartbeatLease.defaultDurationSeconds, selectTasksByLabel: Bool = false) {
        self.name = name
        self.namespace = namespace
        self.spec = spec
        self.taskNamespace = taskNamespace
        self.heartbeatInterval = heartbeatInterval
        self.leaseDurationSeconds = leaseDurationSeconds
        self.selectTasksByLabel = selectTasksByLabel
    }
}

/// Runs one task's attempt: returns the result, or throws to fail the attempt (the error's description is the
/// task's message). It is cancelled when the task is cancelled, passes its deadline, or is taken from the agent.
public typealias TaskHandler = @Sendable (TaskResource) async throws -> JSON

/// A `TaskHandler` that also reports the attempt's progress into the Task (`status.progress`). A
/// `ReasonedFailure` it throws sets the task's reason.
public typealias ProgressingTaskHandler = @Sendable (TaskResource, ProgressReporter) async throws -> JSON

/// What an agent did since it started.
public struct AgentStatistics: Sendable, Hashable {
    /// Attempts taken up (written Running).
    public var claimed = 0
    public var completed = 0
    public var failed = 0
    /// Writes refused because the task was reassigned or finished meanwhile (fencing).
    public var fenced = 0
    /// Attempts whose work was cancelled: the task was cancelled, failed by the controller, or reassigned.
    public var cancelled = 0
    /// Heartbeat renewals that failed.
    public var heartbeatFailures = 0
    /// Reports tried again because the server was not reached or answered "not now".
    public var reportRetries = 0
}

/// An agent, as DESIGN.md describes one: it registers its Agent, renews its heartbeat Lease, watches the tasks
/// assigned to it (field selector `status.assignedAgent`), takes each new attempt up (Running), runs it with the
/// handler and reports the result (Completed, or Failed). Every report is a fenced write: conditional on the
/// resourceVersion read and on the attempt it was given, so an agent presumed dead never overwrites a task
/// that was reassigned.
///
///     let agent = AgentRuntime(client: client, configuration: AgentConfiguration(
///         name: "echo-1", spec: AgentSpec(capabilities: ["echo"]))) { task in task.spec.payload ?? [:] }
///     try await agent.run()
public actor AgentRuntime {
    public nonisolated let configuration: AgentConfiguration
    private let client: KubeClient
    private let tasks: ResourceClient<TaskResource>
    private let writer: TaskStatusWriter
    private let clock: any KubeClock
    private let handler: ProgressingTaskHandler
    private let logger: Logger
    /// At most one progress write per this, per attempt.
    private let progressInterval: Duration
    /// Registered and its task watch synced: what `/readyz` answers. Behind a lock so that it can be read
    /// without waiting for the actor.
    private let readiness = Mutex(false)

    /// The attempts running now, by task key, with the work to cancel.
    private var running: [String: (attempt: Int, work: Task<JSON, any Error>)] = [:]
    /// Attempts taken from the watch and not finished yet (being written Running, running, or reporting),
    /// by task key: what a drain waits for.
    private var taken: Set<String> = []
    /// Drains waiting for `taken` to empty.
    private var idleWaiters: [CheckedContinuation<Void, Never>] = []
    /// The attempt last taken up or refused per task, so that one attempt is never run twice.
    private var seenAttempts: [String: Int] = [:]
    /// The spec registered: the configuration's, until `updateSpec` changes it.
    private var spec: AgentSpec
    /// Asked before each heartbeat and each task event (see `AgentLink`).
    private let link: any AgentLink
    public private(set) var statistics = AgentStatistics()

    public init(client: KubeClient, configuration: AgentConfiguration, clock: any KubeClock = SystemClock(),
                logger: Logger = Logger(label: "conductor.agent"), link: any AgentLink = UncutLink(),
                handler: @escaping TaskHandler) {
        self.init(client: client, configuration: configuration, clock: clock, logger: logger, progressInterval: .milliseconds(250),
                  link: link, progressingHandler: { task, _ in try await handler(task) })
    }

    /// An agent whose handler reports progress, written at most once per `progressInterval` per attempt.
    public init(client: KubeClient, configuration: AgentConfiguration, clock: any KubeClock = SystemClock(),
                logger: Logger = Logger(label: "conductor.agent"), progressInterval: Duration = .milliseconds(250),
                link: any AgentLink = UncutLink(), progressingHandler: @escaping ProgressingTaskHandler) {
        self.progressInterval = progressInterval
        self.link = link
        self.spec = configuration.spec
        self.client = client
        self.configuration = configuration
        tasks = client.resource(TaskResource.self, namespace: configuration.taskNamespace)
        writer = TaskStatusWriter(client: client)
        self.clock = clock
        self.handler = progressingHandler
        var logger = logger
        logger[metadataKey: "agent"] = "\(configuration.name)"
        self.logger = logger
    }

    /// Registers, then heartbeats and runs the tasks assigned to it until the calling task is cancelled.
    /// Throws when the Agent cannot be registered.
    public func run() async throws {
        try await register()
        let name = configuration.name
        let informer = try Informer(tasks, options: configuration.selectTasksByLabel
            ? WatchOptions(labelSelector: Selectors.tasksLabelledAssigned(to: name))
            : WatchOptions(fieldSelector: Selectors.tasksInProgress(assignedTo: name)))
        await withDiscardingTaskGroup { group in
            group.addTask { try? await informer.run() }
            group.addTask { await self.heartbeat() }
            group.addTask {
                try? await informer.waitUntilSynced()
                self.readiness.withLock { $0 = true }
            }
            for await event in informer.events() where !link.isCut {
                if case .deleted(let task, _) = event {
                    running[task.key]?.work.cancel()
                    seenAttempts[task.key] = nil
                } else if let start = consider(event.object) {
                    group.addTask { await self.execute(start) }
                }
            }
            group.cancelAll()
        }
        readiness.withLock { $0 = false }
        for attempt in running.values { attempt.work.cancel() }
    }

    /// Registered, and watching its tasks (the watch has synced): what `/readyz` reports.
    public nonisolated var isReady: Bool { readiness.withLock { $0 } }

    /// Attempts running now.
    public var runningCount: Int { running.count }

    // MARK: Registration and heartbeat

    private func register() async throws {
        let agents = client.resource(Agent.self, namespace: configuration.namespace)
        let desired = Agent(metadata: ObjectMeta(name: configuration.name, namespace: configuration.namespace,
                                                 labels: [Labels.agent: configuration.name]),
                            spec: spec)
        do {
            _ = try await agents.create(desired)
        } catch let error as KubeAPIError where error.reason == .alreadyExists {
            // Registered before (a restart): its spec is brought up to date, its status left to the monitor.
            var existing = try await agents.get(configuration.name)
            existing.spec = spec
            existing = try await agents.update(existing)
            if existing.status.phase == .notReady, existing.status.conditions[.ready]?.reason == .drainRequested {
                // It drained before and said NotReady, which a heartbeat alone does not undo (the monitor
                // keeps an agent's own NotReady): back to Unknown, so its first heartbeat makes it Ready.
                _ = try await agents.patchStatus(configuration.name, .merge(["status": ["phase": .string(AgentPhase.unknown.rawValue)]]))
            }
        }
        logger.info("registered", metadata: ["capabilities": "\(spec.capabilities.joined(separator: ","))"])
    }

    /// Offers other capabilities from now on (an MCP server's tools changed): a merge patch of the Agent's
    /// `spec.capabilities` and `spec.capabilityDetails`, which replaces both lists and leaves the rest (the
    /// draining flag) as it is. A registration after a restart registers this spec.
    public func updateCapabilities(_ capabilities: [String], details: [CapabilityDetail]) async throws {
        spec.capabilities = capabilities
        spec.capabilityDetails = details
        let encodedDetails = JSON.array(details.map { detail in
            var object: JSONObject = ["name": .string(detail.name)]
            if let title = detail.title { object["title"] = .string(title) }
            if let description = detail.description { object["description"] = .string(description) }
            if let inputSchema = detail.inputSchema { object["inputSchema"] = inputSchema }
            if let outputSchema = detail.outputSchema { object["outputSchema"] = outputSchema }
            return .object(object)
        })
        _ = try await client.resource(Agent.self, namespace: configuration.namespace).patch(configuration.name, .merge([
            "spec": ["capabilities": .array(capabilities.map(JSON.string)), "capabilityDetails": encodedDetails],
        ]))
        logger.info("capabilities updated", metadata: ["capabilities": "\(capabilities.joined(separator: ","))"])
    }

    /// Renews the Lease every `heartbeatInterval`, and with it reports how many attempts run
    /// (`status.currentTasks`, the agents' TASKS column) when that changed: at most one status write per
    /// heartbeat, as DESIGN.md keeps the Agent's own status writes rare.
    private func heartbeat() async {
        let leases = client.resource(Lease.self, namespace: configuration.namespace)
        var current: Lease?
        var reportedTasks: Int?
        while !Task.isCancelled {
            if !link.isCut {
                do {
                    current = try await renew(current, leases)
                } catch is CancellationError {
                    return
                } catch {
                    current = nil  // read again next time
                    statistics.heartbeatFailures += 1
                    logger.warning("heartbeat failed", metadata: ["error": "\(error)"])
                }
                if reportedTasks != running.count {
                    do {
                        reportedTasks = try await reportLoad()
                    } catch {
                        // Not a heartbeat failure: the count is tried again with the next heartbeat.
                        logger.debug("could not report the running count", metadata: ["error": "\(error)"])
                    }
                }
            }
            do { try await clock.sleep(for: configuration.heartbeatInterval) } catch { return }
        }
    }

    /// A merge patch of `status.currentTasks` alone, so that it never undoes the controller's Ready verdict.
    private func reportLoad() async throws -> Int {
        let count = running.count
        _ = try await client.resource(Agent.self, namespace: configuration.namespace)
            .patchStatus(configuration.name, .merge(["status": ["currentTasks": .int(Int64(count))]]))
        return count
    }

    private func renew(_ current: Lease?, _ leases: ResourceClient<Lease>) async throws -> Lease {
        let now = KubeTimestamp.microTime(clock.wallTime)
        var spec = Lease.Spec(holderIdentity: configuration.name, leaseDurationSeconds: configuration.leaseDurationSeconds, renewTime: now)
        var known = current
        if known == nil { known = try await existingLease(leases) }
        if var lease = known {
            spec.acquireTime = lease.spec?.acquireTime ?? now
            lease.spec = spec
            return try await leases.update(lease)
        }
        spec.acquireTime = now
        return try await leases.create(Lease(
            metadata: ObjectMeta(name: HeartbeatLease.name(forAgent: configuration.name), namespace: configuration.namespace,
                                 labels: [Labels.agent: configuration.name]),
            spec: spec))
    }

    private func existingLease(_ leases: ResourceClient<Lease>) async throws -> Lease? {
        do {
            return try await leases.get(HeartbeatLease.name(forAgent: configuration.name))
        } catch let error as KubeAPIError where error.reason == .notFound {
            return nil
        }
    }

    // MARK: Tasks

    /// What a task's new version means here: an attempt to take up (returned), or one to stop.
    private func consider(_ task: TaskResource) -> TaskResource? {
        let status = task.status
        let attempt = status.attempt ?? 0
        if let held = running[task.key], held.attempt != attempt || task.spec.isCancelRequested || status.isFinal
            || status.assignedAgent != configuration.name {
            // Reassigned, cancelled, or failed by the controller (deadline): the work stops.
            held.work.cancel()
            return nil
        }
        guard status.assignedAgent == configuration.name, attempt > (seenAttempts[task.key] ?? 0) else { return nil }
        switch status.effectivePhase {
        case .assigned:
            seenAttempts[task.key] = attempt
            return task
        case .running:
            // Running under this agent's name but not here: a previous run of this agent died with it.
            seenAttempts[task.key] = attempt
            Task { await self.report(task, attempt: attempt) { AgentReports.lost($0, message: "the agent restarted while running attempt \(attempt)", now: $1) } }
            return nil
        default:
            return nil
        }
    }

    /// Takes the attempt up, runs it, and reports how it ended.
    private func execute(_ assigned: TaskResource) async {
        taken.insert(assigned.key)
        defer { untake(assigned.key) }
        let attempt = assigned.status.attempt ?? 0
        guard let started = await report(assigned, attempt: attempt, { AgentReports.running($0, now: $1) }) else { return }
        statistics.claimed += 1
        let handler = self.handler
        let progress = progressReporter(for: started, attempt: attempt)
        let progressWriter = Task { await progress.run() }
        // Its own task, so that a change of the task (cancelled, reassigned, failed by the controller) can stop
        // this attempt alone; the agent stopping stops it too.
        let work = Task { try await handler(started, progress) }
        running[assigned.key] = (attempt, work)
        let outcome = await withTaskCancellationHandler { await work.result } onCancel: { work.cancel() }
        // Counted before the attempt leaves `running`: whoever sees it gone (the agent's stop) sees it counted.
        let stopped = work.isCancelled
        if stopped { statistics.cancelled += 1 }
        running[assigned.key] = nil
        // The final report carries the progress not written yet; a write in flight may still land first (the
        // report then meets a conflict and reads the task again).
        let lastProgress = progress.finish()
        progressWriter.cancel()
        await progressWriter.value
        if stopped {
            logger.info("attempt stopped", metadata: ["task": "\(assigned.key)", "attempt": "\(attempt)"])
            return
        }
        switch outcome {
        case .success(let result):
            do throws(SizeLimitError) {
                try Limits.checkResult(result)
                if await report(started, attempt: attempt, {
                    var status = AgentReports.completed($0, result: result, now: $1)
                    if let lastProgress { status.progress = lastProgress }
                    return status
                }) != nil {
                    statistics.completed += 1
                }
            } catch {
                // Final: another attempt would not make it smaller.
                if await report(started, attempt: attempt, {
                    var status = AgentReports.failed($0, message: "\(error)", now: $1)
                    status.reason = .resultTooLarge
                    return status
                }) != nil {
                    statistics.failed += 1
                }
            }
        case .failure(let error):
            let reason = (error as? any ReasonedFailure)?.failureReason
            if await report(started, attempt: attempt, {
                var status = AgentReports.failed($0, message: "\(error)", now: $1)
                if let reason { status.reason = reason }
                if let lastProgress { status.progress = lastProgress }
                return status
            }) != nil {
                statistics.failed += 1
            }
        }
    }

    private func untake(_ key: String) {
        taken.remove(key)
        guard taken.isEmpty else { return }
        let waiters = idleWaiters
        idleWaiters = []
        for waiter in waiters { waiter.resume() }
    }

    /// The attempt's progress reporter: its writes are JSON patches that the server applies only while the
    /// task is still Running this attempt on this agent (`test` operations), so they are fenced as the
    /// status writes are without reading the task first.
    private func progressReporter(for task: TaskResource, attempt: Int) -> ProgressReporter {
        let tasks = client.resource(TaskResource.self, namespace: task.namespace)
        let name = task.name
        let agent = configuration.name
        var logger = logger
        logger[metadataKey: "task"] = "\(task.key)"
        return ProgressReporter(interval: progressInterval, clock: clock, logger: logger) { progress in
            _ = try await tasks.patchStatus(name, .json([
                ["op": "test", "path": "/status/attempt", "value": .int(Int64(attempt))],
                ["op": "test", "path": "/status/assignedAgent", "value": .string(agent)],
                ["op": "test", "path": "/status/phase", "value": .string(TaskPhase.running.rawValue)],
                ["op": "add", "path": "/status/progress", "value": progress.json],
            ]))
        }
    }

    private func refused(_ task: TaskResource, attempt: Int) -> TaskResource? {
        statistics.fenced += 1
        logger.info("report refused: the task moved on", metadata: [
            "task": "\(task.key)", "attempt": "\(attempt)", "current": "\(task.status.attempt ?? 0)",
            "phase": "\(task.status.effectivePhase.rawValue)",
        ])
        return nil
    }

    /// Writes the status `make` derives from the task, as the holder of `attempt`. On a conflict it reads the
    /// task again and tries once more while the attempt is still its own and unfinished; fenced, it gives up.
    /// When the server is not reached or answers "not now", it reads the task and tries again after a backoff
    /// (`reportRetry`), for as long as the agent runs: an attempt's end lost to an API server restart would
    /// leave the task Running on a live agent for good. A write that landed with its answer lost is found on
    /// that read and taken as written. Returns the stored task, or nil when the write was refused or failed.
    @discardableResult
    private func report(_ read: TaskResource, attempt: Int,
                        _ make: @Sendable (TaskResource, Timestamp) -> TaskStatus) async -> TaskResource? {
        var read = read
        let own = client.resource(TaskResource.self, namespace: read.namespace)
        var conflicts = 0
        var needsRead = false
        var mayHaveLanded = false
        var delay = Self.reportRetry.initial
        while true {
            do {
                if needsRead {
                    read = try await own.get(read.name)
                    needsRead = false
                    if mayHaveLanded, isWritten(make(read, Timestamp(clock.wallTime)), on: read, attempt: attempt) { return read }
                }
                // Its own, and still held: a task sent back to Pending keeps its attempt until reassigned.
                guard read.status.assignedAgent == configuration.name, read.status.effectivePhase.holdsAgent else {
                    return refused(read, attempt: attempt)
                }
                switch try await writer.write(make(read, Timestamp(clock.wallTime)), over: read, holding: attempt) {
                case .written(let stored):
                    return stored
                case .conflict:
                    // The controller writes a held task only to take it away, so a conflict that keeps coming
                    // means the task is contended, and the next event decides.
                    conflicts += 1
                    guard conflicts < 5 else { return nil }
                    needsRead = true
                case .fenced, .notFound:
                    return refused(read, attempt: attempt)
                }
            } catch {
                // Stopping: the attempt is left to the controller (the agent's Lease runs out).
                if Task.isCancelled { return nil }
                guard Self.isTransient(error) else {
                    logger.warning("report failed", metadata: ["task": "\(read.key)", "attempt": "\(attempt)", "error": "\(error)"])
                    return nil
                }
                logger.warning("report failed; trying again", metadata: [
                    "task": "\(read.key)", "attempt": "\(attempt)", "error": "\(error)", "after": "\(delay)",
                ])
                statistics.reportRetries += 1
                mayHaveLanded = true
                needsRead = true
                do { try await clock.sleep(for: delay) } catch { return nil }
                delay = min(delay * 2, Self.reportRetry.maximum)
            }
        }
    }

    /// The backoff between tries of a report the server did not take (not reached, or "not now").
    static let reportRetry = (initial: Duration.milliseconds(200), maximum: Duration.seconds(5))

    /// A failed write (classified when it was wrapped) or a failed read of the task.
    private static func isTransient(_ error: any Error) -> Bool {
        (error as? TaskWriteError)?.isTransient ?? KubeAPIError.isTransient(error)
    }

    /// Whether `task` already holds what this agent meant to write for `attempt`: its write landed.
    private func isWritten(_ intended: TaskStatus, on task: TaskResource, attempt: Int) -> Bool {
        let status = task.status
        return status.attempt == attempt && status.assignedAgent == configuration.name
            && status.phase == intended.phase && status.reason == intended.reason
    }

    // MARK: Drain

    /// The first step of a graceful stop: marks the Agent draining (`spec.draining`, which the scheduler
    /// reads), so that it is assigned no new tasks. The attempts it holds go on; tasks assigned before the
    /// mark reached the scheduler are still taken up.
    public func beginDrain() async throws {
        _ = try await client.resource(Agent.self, namespace: configuration.namespace)
            .patch(configuration.name, .merge(["spec": ["draining": true]]))
        logger.info("draining", metadata: ["running": "\(taken.count)"])
    }

    /// Waits until no attempt is held, for at most `timeout`. Returns whether none is.
    public func waitUntilIdle(timeout: Duration) async -> Bool {
        if taken.isEmpty { return true }
        let clock = self.clock
        return await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                await self.idle()
                return true
            }
            group.addTask {
                // A cancelled sleep answers as a timeout: the caller stops waiting either way.
                try? await clock.sleep(for: timeout)
                return false
            }
            let first = await group.next() ?? false
            group.cancelAll()
            // The idle wait does not end on cancellation: wake it.
            if !first { releaseIdleWaiters() }
            return first
        }
    }

    /// The attempts held now (taken up and not finished).
    public var heldCount: Int { taken.count }

    /// Returns at once when cancelled: `waitUntilIdle` cancels it and then wakes the waiters it holds, and a waiter
    /// that came after that wake-up (its child task started late, or the caller was cancelled before it began)
    /// would otherwise wait until the last attempt ends.
    private func idle() async {
        if taken.isEmpty || Task.isCancelled { return }
        await withCheckedContinuation { idleWaiters.append($0) }
    }

    private func releaseIdleWaiters() {
        let waiters = idleWaiters
        idleWaiters = []
        for waiter in waiters { waiter.resume() }
    }

    /// The last step of a graceful stop, once the attempts finished or the drain timed out: the attempts
    /// still held are stopped without a report, and the Agent says NotReady (`Reason.drainRequested`), which
    /// the controller's agent-loss path answers by sending every task it still holds back to Pending for
    /// another agent; that agent's attempt is the next one, so anything this one still wrote would be fenced.
    /// Call it before stopping `run()`, whose heartbeat keeps the Agent from looking lost meanwhile.
    public func markNotReady() async throws {
        for attempt in running.values { attempt.work.cancel() }
        let agents = client.resource(Agent.self, namespace: configuration.namespace)
        for _ in 0..<5 {
            var agent = try await agents.get(configuration.name)
            let now = Timestamp(clock.wallTime)
            let generation = agent.metadata.generation.map(Int.init)
            let message = "agent \(configuration.name) drained and stopped; \(taken.count) held tasks handed back"
            agent.status.phase = .notReady
            agent.status.conditions.set(.ready, .false, reason: .drainRequested, message: message, observedGeneration: generation, now: now)
            agent.status.conditions.set(.draining, .true, reason: .drainRequested, message: message, observedGeneration: generation, now: now)
            do {
                _ = try await agents.updateStatus(agent)
                logger.info("marked NotReady", metadata: ["handedBack": "\(taken.count)"])
                return
            } catch let error as KubeAPIError where error.reason == .conflict {
                continue  // the monitor or a heartbeat's load report wrote meanwhile: read it again
            }
        }
        throw AgentDrainError(agent: configuration.key, step: "marking it NotReady", underlying: "the Agent kept changing (5 conflicts)")
    }

    /// After `run()` stopped: deletes the Agent and releases its heartbeat Lease (deletes it, or, where the
    /// agent may not delete, empties its holder). Every step is tried; the failures are returned.
    public func deregister() async -> [AgentDrainError] {
        var failures: [AgentDrainError] = []
        do {
            try await client.resource(Agent.self, namespace: configuration.namespace).delete(configuration.name)
        } catch let error as KubeAPIError where error.reason == .notFound {
        } catch {
            failures.append(AgentDrainError(agent: configuration.key, step: "deleting the Agent (it stays NotReady)", underlying: "\(error)"))
        }
        let leases = client.resource(Lease.self, namespace: configuration.namespace)
        let leaseName = HeartbeatLease.name(forAgent: configuration.name)
        do {
            try await leases.delete(leaseName)
        } catch let error as KubeAPIError where error.reason == .notFound {
        } catch {
            do {
                var lease = try await leases.get(leaseName)
                lease.spec?.holderIdentity = nil
                _ = try await leases.update(lease)
            } catch {
                failures.append(AgentDrainError(agent: configuration.key, step: "releasing the heartbeat Lease \(leaseName)", underlying: "\(error)"))
            }
        }
        return failures
    }
}

extension AgentConfiguration {
    /// namespace/name of the Agent.
    public var key: String { "\(namespace)/\(name)" }
}

/// A step of a graceful stop that failed: the Agent, the step, and why.
public struct AgentDrainError: Error, Sendable, CustomStringConvertible {
    public var agent: String
    public var step: String
    public var underlying: String

    public var description: String { "agent \(agent): \(step) failed: \(underlying)" }
}
