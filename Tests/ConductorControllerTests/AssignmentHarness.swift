@testable import ConductorController
import ConductorAPI
import ConductorTestSupport
import Foundation
import KubeClient
import KubeJSON
import Logging
import Synchronization
import Testing

extension HookedWriter {
    /// Makes the first assignment conflict: just before it, the task is changed on the server, as another
    /// writer racing the scheduler would.
    static func interfering(_ writer: TaskStatusWriter, tasks: ResourceClient<TaskResource>) -> HookedWriter {
        let interfering = Countdown(1)
        return HookedWriter(writer) { (status, read) async throws(TaskWriteError) in
            guard status.phase == .assigned, interfering.take() else { return }
            do {
                var touched = try await tasks.get(read.name)
                touched.metadata.annotations = ["test/touched": "true"]
                _ = try await tasks.update(touched)
            } catch {
                throw TaskWriteError(task: read.key, resourceVersion: read.resourceVersion, underlying: "interfering: \(error)")
            }
        }
    }
}

extension HookedWriter {
    /// Fails the first assignment without sending it, as a connection lost before the request went out.
    static func failingFirstAssignment(_ writer: TaskStatusWriter) -> HookedWriter {
        let failing = Countdown(1)
        return HookedWriter(writer) { (status, read) async throws(TaskWriteError) in
            guard status.phase == .assigned, failing.take() else { return }
            throw TaskWriteError(task: read.key, resourceVersion: read.resourceVersion, underlying: "injected: the connection was lost", isTransient: true)
        }
    }
}

/// The controller with its assignment loop on a real local API server: informers, supervisor, task actors,
/// the loop writing through `TaskStatusWriter`, and with `monitorHealth` the health monitor on the agents'
/// heartbeat Leases. The test plays the agents: it creates Agent objects with status Ready, renews their
/// Leases on the harness's `ManualClock`, and writes their tasks' progress with the attempt they were given.
struct AssignmentHarness {
    static let namespace = "default"

    let tasks: ResourceClient<TaskResource>
    let agents: ResourceClient<Agent>
    let clock: ManualClock
    let writer: TaskStatusWriter
    let loop: AssignmentLoop
    let supervisor: Supervisor
    let leases: ResourceClient<Lease>
    let agentInformer: Informer<Agent>
    /// The health monitor's Lease informer, nil without `monitorHealth`.
    let leaseInformer: Informer<Lease>?
    let monitor: HealthMonitor?
    let leadership: LeadershipGate

    static func run(interfering: Bool = false, failingFirstAssignment: Bool = false, beforeEachWrite: HookedWriter.Hook? = nil,
                    monitorHealth: Bool = false, leadership: LeadershipGate = LeadershipGate(leading: true),
                    configuration: AssignmentLoopConfiguration = AssignmentLoopConfiguration(),
                    _ body: (AssignmentHarness) async throws -> Void) async throws {
        try await withServer { _, client in
            try await applyProjectCRDs(client)
            let clock = ManualClock()
            let logger = Logger(label: "assignment-test")
            let tasks = client.resource(TaskResource.self, namespace: namespace)
            let writer = TaskStatusWriter(client: client)
            let taskInformer = try Informer(tasks)
            let agentInformer = try Informer(client.resource(Agent.self, namespace: namespace))
            let loop = try AssignmentLoop(
                tasks: taskInformer, agents: agentInformer,
                writer: interfering ? HookedWriter.interfering(writer, tasks: tasks)
                    : failingFirstAssignment ? HookedWriter.failingFirstAssignment(writer)
                    : beforeEachWrite.map { HookedWriter(writer, before: $0) } ?? writer as any TaskStatusWriting,
                clock: clock, leadership: leadership,
                logger: logger, configuration: configuration)
            let supervisor = Supervisor(
                tasks: taskInformer, agents: agentInformer,
                context: TaskActorContext(writer: writer, clock: clock, sink: loop, leadership: leadership, logger: logger))
            let leases = client.resource(Lease.self, namespace: namespace)
            let leaseInformer = monitorHealth ? try Informer(leases, options: HealthMonitor.leaseWatchOptions) : nil
            let monitor = try leaseInformer.map {
                try HealthMonitor(leases: $0, agents: agentInformer, clock: clock, leadership: leadership, logger: logger)
            }
            let harness = AssignmentHarness(tasks: tasks, agents: client.resource(Agent.self, namespace: namespace),
                                            clock: clock, writer: writer, loop: loop, supervisor: supervisor, leases: leases,
                                            agentInformer: agentInformer, leaseInformer: leaseInformer, monitor: monitor, leadership: leadership)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await taskInformer.run() }
                group.addTask { try await agentInformer.run() }
                group.addTask { await supervisor.run() }
                group.addTask { await loop.run() }
                if let leaseInformer, let monitor {
                    group.addTask { try await leaseInformer.run() }
                    group.addTask { await monitor.run() }
                }
                defer { group.cancelAll() }
                try await taskInformer.waitUntilSynced()
                try await agentInformer.waitUntilSynced()
                try await leaseInformer?.waitUntilSynced()
                try await body(harness)
            }
        }
    }

    /// Registers an agent and marks it Ready (or not), as the agent runtime and the health monitor would.
    @discardableResult
    func createAgent(_ name: String, capabilities: [String] = ["echo"], slots: Int? = nil, tags: [String] = [],
                     phase: AgentPhase = .ready) async throws -> Agent {
        var agent = try await agents.create(Agent(metadata: ObjectMeta(name: name, namespace: Self.namespace),
                                                  spec: AgentSpec(capabilities: capabilities, tags: tags, maxConcurrentTasks: slots)))
        agent.status.phase = phase
        return try await untilTheLoopSees(try await agents.updateStatus(agent))
    }

    func setPhase(_ phase: AgentPhase, ofAgent name: String) async throws {
        var agent = try await agents.get(name)
        agent.status.phase = phase
        try await untilTheLoopSees(try await agents.updateStatus(agent))
    }

    /// Waits until the loop's scheduler holds this version of the agent, so that what the test does next
    /// meets the agent as written, whichever watch delivers first.
    @discardableResult
    private func untilTheLoopSees(_ agent: Agent) async throws -> Agent {
        try await waitUntil("the loop sees \(agent.name) at \(agent.resourceVersion ?? "")") {
            await loop.appliedVersion(ofAgent: agent.name) == agent.resourceVersion
        }
        return agent
    }

    @discardableResult
    func createTask(_ name: String, capabilities: [String] = ["echo"], priority: Int? = nil) async throws -> TaskResource {
        try await tasks.create(TaskResource(metadata: ObjectMeta(name: name, namespace: Self.namespace),
                                            spec: TaskSpec(requiredCapabilities: capabilities, priority: priority)))
    }

    /// Plays the agent's heartbeat: creates or renews its Lease at the clock's time, and waits until the health
    /// monitor's cache holds the renewal, so that a timer fired after this judges the agent on it.
    @discardableResult
    func renewLease(of agent: String, durationSeconds: Int = HeartbeatLease.defaultDurationSeconds) async throws -> Lease {
        let spec = Lease.Spec(holderIdentity: agent, leaseDurationSeconds: durationSeconds,
                              renewTime: KubeTimestamp.microTime(clock.wallTime))
        let stored: Lease
        if var lease = try? await leases.get(HeartbeatLease.name(forAgent: agent)) {
            lease.spec = spec
            stored = try await leases.update(lease)
        } else {
            stored = try await leases.create(Lease(metadata: ObjectMeta(name: HeartbeatLease.name(forAgent: agent), namespace: Self.namespace,
                                                                        labels: [Labels.agent: agent]), spec: spec))
        }
        if let leaseInformer {
            try await waitUntil("the monitor's cache holds \(agent)'s renewal") {
                leaseInformer.get(stored.key)?.resourceVersion == stored.resourceVersion
            }
        }
        return stored
    }

    /// Waits until the stored agent satisfies `condition`; returns it.
    @discardableResult
    func waitForAgent(_ name: String, _ what: String, _ condition: @escaping (Agent) -> Bool) async throws -> Agent {
        try await agents.waitUntilStored(name, what, condition)
    }

    /// Waits until the stored task satisfies `condition`; returns it.
    @discardableResult
    func waitForTask(_ name: String, _ what: String, _ condition: @escaping (TaskResource) -> Bool) async throws -> TaskResource {
        try await tasks.waitUntilStored(name, what, condition)
    }

    @discardableResult
    func waitForAssignment(_ name: String) async throws -> TaskResource {
        try await waitForTask(name, "assigned") { $0.status.phase == .assigned }
    }

    /// Waits until the task is Pending with Scheduled=False for `reason`.
    @discardableResult
    func waitForWaiting(_ name: String, reason: Reason) async throws -> TaskResource {
        try await waitForTask(name, "waits with \(reason)") { task in
            let scheduled = task.status.conditions[.scheduled]
            return task.status.effectivePhase == .pending && scheduled?.status == .false && scheduled?.reason == reason
                && task.status.reason == reason
        }
    }

    /// The loop's statistics once it has recorded `assignments` written assignments: the server shows an
    /// assignment a moment before the loop has recorded its write.
    func statistics(afterAssignments assignments: Int) async throws -> AssignmentStatistics {
        try await waitUntil("the loop recorded \(assignments) assignments") {
            await loop.statistics.assignmentsWritten >= assignments
        }
        return await loop.statistics
    }

    /// Plays the agent holding `task`'s attempt: writes `phase`.
    @discardableResult
    func report(_ task: TaskResource, _ phase: TaskPhase) async throws -> TaskResource {
        var status = task.status
        status.phase = phase
        status.reason = phase == .running ? .started : .succeeded
        if phase == .completed { status.result = ["ok": true] }
        let outcome = try await writer.write(status, over: task, holding: task.status.attempt)
        guard case .written(let written) = outcome else { throw TestFailure("reporting \(phase) for \(task.name): \(outcome)") }
        return written
    }

    /// Plays the agent: runs the stored task to completion.
    func complete(_ name: String) async throws {
        let running = try await report(try await tasks.get(name), .running)
        try await report(running, .completed)
    }

    /// The stored tasks that hold a slot of each agent, by agent.
    func activeTasksByAgent() async throws -> [String: [String]] {
        var byAgent: [String: [String]] = [:]
        for task in try await tasks.list().items {
            guard let agent = task.status.assignedAgent, task.status.effectivePhase.holdsAgent else { continue }
            byAgent[agent, default: []].append(task.name)
        }
        return byAgent.mapValues { $0.sorted() }
    }
}
