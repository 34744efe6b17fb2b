@testable import ConductorController
import ConductorAPI
import ConductorTestSupport
import Foundation
import KubeClient
import Logging
import Synchronization
import Testing

/// The scheduler's stand-in: records what the task actors offer.
final class RecordingSink: SchedulableTaskSink {
    private let offers = Mutex<[TaskResource]>([])

    func offer(_ task: TaskResource) {
        offers.withLock { $0.append(task) }
    }

    func offers(of name: String) -> [TaskResource] {
        offers.withLock { $0.filter { $0.name == name } }
    }
}

/// The Event recorder's stand-in: records the reasons of the Events the actors record, by task.
final class RecordingEvents: ControllerEventSink {
    private let recorded = Mutex<[(task: String, reason: String)]>([])

    func record(_ object: ObjectReference, type: EventType, reason: String, message: String) {
        recorded.withLock { $0.append((object.name ?? "", reason)) }
    }

    func reasons(of name: String) -> [String] {
        recorded.withLock { $0.filter { $0.task == name }.map(\.reason) }
    }
}

/// Something that happened, for a test to wait on: a writer's hook raises it.
final class Flag: Sendable {
    private let raised = Mutex(false)

    func raise() { raised.withLock { $0 = true } }

    var isRaised: Bool { raised.withLock { $0 } }
}

/// How many times something may still happen, shared by a test writer's hook across its calls.
final class Countdown: Sendable {
    private let remaining: Mutex<Int>

    init(_ count: Int) {
        remaining = Mutex(count)
    }

    /// Takes one, if any is left.
    func take() -> Bool {
        remaining.withLock { count in
            guard count > 0 else { return false }
            count -= 1
            return true
        }
    }
}

/// A writer that runs `before` ahead of each write it passes on, to make writes fail or race in tests.
final class HookedWriter: TaskStatusWriting {
    typealias Hook = @Sendable (_ status: TaskStatus, _ read: TaskResource) async throws(TaskWriteError) -> Void

    private let writer: TaskStatusWriter
    private let before: Hook

    init(_ writer: TaskStatusWriter, before: @escaping Hook) {
        self.writer = writer
        self.before = before
    }

    func write(_ status: TaskStatus, over read: TaskResource, holding attempt: Int?) async throws(TaskWriteError) -> TaskWriteOutcome {
        try await before(status, read)
        return try await writer.write(status, over: read, holding: attempt)
    }

    /// Fails the first `failures` writes, to make a task actor's work throw.
    static func flaky(_ writer: TaskStatusWriter, failures: Int) -> HookedWriter {
        let failing = Countdown(failures)
        return HookedWriter(writer) { (_, read) async throws(TaskWriteError) in
            if failing.take() { throw TaskWriteError(task: read.key, resourceVersion: read.resourceVersion, underlying: "injected failure") }
        }
    }
}

/// Holds the first assignment write until `release()`, for `AssignmentHarness.run(beforeEachWrite: hold.hook)`:
/// a test can act while that write is under way.
final class FirstAssignmentHold: Sendable {
    private let remaining = Countdown(1)
    private let held = Flag()
    private let (released, release) = AsyncStream<Void>.makeStream()

    /// The first assignment write has reached the hook and waits there.
    var isHolding: Bool { held.isRaised }

    var hook: HookedWriter.Hook {
        { [self] (status, _) async throws(TaskWriteError) in
            guard status.phase == .assigned, remaining.take() else { return }
            held.raise()
            for await _ in released {}
        }
    }

    /// Lets the held write go on (and any later one through at once).
    func releaseWrite() { release.finish() }
}

/// A controller (informers, supervisor, actors) on a real local API server, with time on a `ManualClock`.
/// The test plays the scheduler and the agents through `writer`.
struct ControllerHarness {
    static let namespace = "default"

    let client: KubeClient
    let tasks: ResourceClient<TaskResource>
    let agents: ResourceClient<Agent>
    let clock: ManualClock
    let sink: RecordingSink
    let events: RecordingEvents
    let writer: TaskStatusWriter
    let supervisor: Supervisor

    static func run(failingWrites: Int = 0, _ body: (ControllerHarness) async throws -> Void) async throws {
        try await withServer { _, client in
            try await applyProjectCRDs(client)
            let clock = ManualClock()
            let writer = TaskStatusWriter(client: client)
            let sink = RecordingSink()
            let events = RecordingEvents()
            let taskInformer = try Informer(client.resource(TaskResource.self, namespace: namespace))
            let agentInformer = try Informer(client.resource(Agent.self, namespace: namespace))
            let context = TaskActorContext(
                policy: TaskLifecyclePolicy(backoff: RetryBackoff(base: .seconds(1), cap: .seconds(300))),
                writer: failingWrites > 0 ? HookedWriter.flaky(writer, failures: failingWrites) : writer,
                clock: clock, sink: sink, events: events, logger: Logger(label: "controller-test"))
            let supervisor = Supervisor(tasks: taskInformer, agents: agentInformer, context: context,
                                        restartBackoff: RetryBackoff(base: .zero, cap: .zero))
            let harness = ControllerHarness(client: client, tasks: client.resource(TaskResource.self, namespace: namespace),
                                            agents: client.resource(Agent.self, namespace: namespace), clock: clock, sink: sink,
                                            events: events, writer: writer, supervisor: supervisor)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await taskInformer.run() }
                group.addTask { try await agentInformer.run() }
                group.addTask { await supervisor.run() }
                defer { group.cancelAll() }
                try await taskInformer.waitUntilSynced()
                try await agentInformer.waitUntilSynced()
                try await body(harness)
            }
        }
    }

    /// The controller's clock as a stored timestamp.
    var now: Timestamp { Timestamp(clock.wallTime) }

    @discardableResult
    func createTask(_ name: String, retryPolicy: RetryPolicy? = nil, deadline: Timestamp? = nil, cancel: Bool? = nil) async throws -> TaskResource {
        try await tasks.create(TaskResource(metadata: ObjectMeta(name: name, namespace: Self.namespace),
                                            spec: TaskSpec(requiredCapabilities: ["echo"], deadline: deadline, retryPolicy: retryPolicy, cancel: cancel)))
    }

    /// Waits until the task has been offered `count` times in all; returns the last offer.
    @discardableResult
    func waitForOffer(_ name: String, count: Int = 1) async throws -> TaskResource {
        try await waitUntil("\(name) is offered \(count) time(s)") { sink.offers(of: name).count >= count }
        #expect(sink.offers(of: name).count == count, "offered once per version")
        return try #require(sink.offers(of: name).last)
    }

    /// Waits until the stored task satisfies `condition`; returns it.
    @discardableResult
    func waitForTask(_ name: String, _ what: String, _ condition: @escaping (TaskResource) -> Bool) async throws -> TaskResource {
        try await tasks.waitUntilStored(name, what, condition)
    }

    /// Plays the scheduler: assigns the stored task to `agent`.
    @discardableResult
    func assign(_ name: String, to agent: String) async throws -> TaskResource {
        let outcome = try await writer.assign(try await tasks.get(name), to: agent, now: now)
        guard case .written(let assigned) = outcome else { throw TestFailure("assigning \(name): \(outcome)") }
        return assigned
    }

    /// Plays the agent holding `task`'s attempt: writes `phase` with `reason`.
    @discardableResult
    func report(_ task: TaskResource, _ phase: TaskPhase, reason: Reason) async throws -> TaskResource {
        var status = task.status
        status.phase = phase
        status.reason = reason
        if phase == .completed { status.result = ["ok": true] }
        let outcome = try await writer.write(status, over: task, holding: task.status.attempt)
        guard case .written(let written) = outcome else { throw TestFailure("reporting \(phase) for \(task.name): \(outcome)") }
        return written
    }

    /// Waits until the actors' only timer is set for exactly `delay` from now.
    func waitForTimer(in delay: Duration) async throws {
        let expected = clock.now.advanced(by: delay)
        try await waitUntil("a timer is armed for \(expected) (now \(clock.now), next \(String(describing: clock.nextWakeUp)))") {
            clock.nextWakeUp == expected && clock.sleeperCount == 1
        }
    }

    /// `awaitTerminal` bounded in real time, so that a bug fails the test rather than hanging it.
    func awaitTerminal(_ name: String) async throws -> TaskResource {
        try await SystemClock().withTimeout(.seconds(30)) { [supervisor] in
            try await supervisor.awaitTerminal("\(Self.namespace)/\(name)")
        }
    }

    /// `awaitTerminal` for a task just created, which the informer may not have seen yet.
    func awaitTerminal(created: TaskResource) async throws -> TaskResource {
        try await SystemClock().withTimeout(.seconds(30)) { [supervisor] in
            try await supervisor.awaitTerminal(created: created)
        }
    }
}
