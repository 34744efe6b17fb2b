import ArgumentParser
import ConductorAgent
import ConductorAPI
import Foundation
import KubeClient
import KubeJSON
import Synchronization

/// `loadtest dispatch`: Tasks through a running controller to simulated agents, beside `loadtest raw` in the
/// same run. Both make the same writes per task (a create and three status writes); raw makes them itself,
/// dispatch leaves them to the controller (the assignment) and the agents (Running, Completed), so the ratio
/// of their tasks/s is what the control plane costs.
struct Dispatch: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run Tasks through the controller with simulated agents; report tasks/s and create-to-assigned and create-to-completed latency, beside loadtest raw.")

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var runOptions: RunOptions

    @OptionGroup var fleetOptions: FleetOptions

    @Flag(inversion: .prefixedNo, help: "First run loadtest raw with the same --tasks and --concurrency, for the ratio.")
    var raw = true

    @Option(help: "Open loop: create tasks at this many per second, whatever the system's state (--concurrency then only sizes the agents' slots). Default: closed loop, --concurrency tasks in flight.")
    var rate: Double?

    @Option(help: "Open loop at this share of the raw ceiling measured first in the same run (0.5: half of loadtest raw's lifecycles/s).")
    var rateShare: Double?

    @Flag(help: "Run loadtest raw again after the tasks, to see whether the machine's capacity held through the run (the ceiling of a shared machine moves).")
    var rawAfter = false

    @Option(help: "Send the tasks to agents already running with this capability (say, a `conductor agent`) instead of simulated ones.")
    var capability: String?

    @Option(help: "A running agent's /metrics: report its resident memory as the tasks go through it (with --capability).")
    var agentMetricsUrl: String?

    @Option(help: "Also report create → assigned per slice of this many milliseconds of creation time: when a tail happened.")
    var timeline: Int?

    func validate() throws {
        if let rate { guard rate > 0 else { throw ValidationError("--rate must be above 0, got \(rate)") } }
        if let rateShare {
            guard rateShare > 0 else { throw ValidationError("--rate-share must be above 0, got \(rateShare)") }
            guard raw else { throw ValidationError("--rate-share needs the raw run it is a share of: drop --no-raw") }
            guard rate == nil else { throw ValidationError("give --rate or --rate-share, not both") }
        }
        if rawAfter, !raw { throw ValidationError("--raw-after compares with the raw run before the tasks: drop --no-raw") }
        if let timeline { guard timeline > 0 else { throw ValidationError("--timeline must be above 0 milliseconds, got \(timeline)") } }
        if let capability, capability.isEmpty { throw ValidationError("--capability must not be empty") }
        if agentMetricsUrl != nil, capability == nil {
            throw ValidationError("--agent-metrics-url reads a running agent's memory: give that agent's --capability too")
        }
    }

    func run() async throws {
        let (agents, agentNamespace, workMilliseconds, timeout) =
            (fleetOptions.agents, fleetOptions.agentNamespace, fleetOptions.workMilliseconds, fleetOptions.timeout)
        let (tasks, concurrency, json, cleanup) = (runOptions.tasks, runOptions.concurrency, runOptions.json, runOptions.cleanup)
        let client = try connection.client()
        let taskClient = client.resource(TaskResource.self, namespace: connection.namespace)
        try await connection.requireTasks(client)
        let runID = String(UInt32.random(in: 0...UInt32.max), radix: 16)
        func rawRun(_ id: String) async throws -> RunResult {
            let result = try await RawLifecycleRun(tasks: client.resource(taskResource, namespace: connection.namespace), runID: id,
                                                   count: tasks, concurrency: concurrency).run()
            if cleanup {
                try? await client.resource(taskResource, namespace: connection.namespace)
                    .deleteCollection(ListOptions(labelSelector: "loadtest.mcp.io/run=\(id)"))
            }
            return result
        }
        let rawResult = raw ? try await rawRun(runID) : nil

        let capability = self.capability ?? "loadtest-\(runID)"
        let fleet = self.capability != nil ? nil : try await SimulatedFleet.start(
            count: agents, slotsEach: (concurrency + agents - 1) / agents, capability: capability, namespace: agentNamespace,
            workTime: .milliseconds(workMilliseconds), connection: connection)
        let trace = try agentMetricsUrl.map { try ResidentMemoryTrace(url: $0) }
        let tracing = trace.map { trace in Task { await trace.record() } }
        func stopAgentsAndTrace() async {
            await fleet?.stop()
            tracing?.cancel()
            await tracing?.value
            await trace?.shutdown()
        }
        let measured: DispatchRun.Outcome
        let openLoopRate = rate ?? rateShare.map { $0 * (rawResult?.perSecond ?? 0) }
        if let openLoopRate, !(openLoopRate > 0) {
            await stopAgentsAndTrace()
            throw ValidationError("the raw run completed no lifecycle: there is no ceiling to take --rate-share of")
        }
        do {
            try await fleet?.waitUntilReady(client: client, timeout: .seconds(timeout))
            let run = DispatchRun(client: client, namespace: connection.namespace, capability: capability, runID: runID,
                                  count: tasks, concurrency: concurrency, timeout: .seconds(timeout))
            if let openLoopRate {
                measured = try await run.run(rate: openLoopRate)
            } else {
                measured = try await run.run()
            }
        } catch {
            await stopAgentsAndTrace()
            throw error
        }
        await stopAgentsAndTrace()
        if cleanup {
            try? await taskClient.deleteCollection(ListOptions(labelSelector: "loadtest.mcp.io/dispatch=\(runID)"))
            await fleet?.delete(client: client)
        }
        let rawAfterResult = rawAfter ? try await rawRun(runID + "-after") : nil
        await client.shutdown()
        let result = measured.run
        let report = DispatchReport(run: result, assigned: measured.assigned, completed: measured.completed, raw: rawResult,
                                    rawAfter: rawAfterResult, offeredRate: openLoopRate,
                                    timeline: timeline.map { measured.timeline(width: .milliseconds($0)) })
        let ranBy = self.capability.map { "the running agents of capability \($0)" } ?? "\(agents) agents"
        print(json ? report.jsonText : report.text(tasks: tasks, concurrency: concurrency, agents: ranBy, server: client.config.server))
        if let trace, !json { print(trace.summary) }
        if let timeline = report.timeline, !json { print(timeline.text) }
        if result.lifecycles == 0 { throw ExitCode.failure }
    }
}

/// Keeps `concurrency` Tasks for `capability` in flight, each created and then awaited until Completed through
/// a watch (no polling), `count` in all; times create → assigned and create → completed.
struct DispatchRun: Sendable {
    struct Outcome {
        let run: RunResult
        let assigned: [Duration]
        let completed: [Duration]
        /// Each task's creation (offset from the first) and its create → assigned if seen.
        let creations: [(created: Duration, assigned: Duration?)]

        func timeline(width: Duration) -> DispatchTimeline { DispatchTimeline(width: width, tasks: creations) }
    }

    let client: KubeClient
    let namespace: String
    let capability: String
    let runID: String
    let count: Int
    let concurrency: Int
    let timeout: Duration

    /// Closed loop: `concurrency` tasks in flight.
    func run() async throws -> Outcome {
        try await run { operation in try await measure(count: count, concurrency: concurrency, operation) }
    }

    /// Open loop: a task created every 1/`rate` s, whatever the system's state, as users' work arrives.
    func run(rate: Double) async throws -> Outcome {
        try await run { operation in try await measureOpenLoop(count: count, rate: rate, operation) }
    }

    private func run(_ driver: (@escaping @Sendable (Int) async throws -> Void) async throws -> RunResult) async throws -> Outcome {
        let taskClient = client.resource(TaskResource.self, namespace: namespace)
        let tracker = DispatchTracker()
        let informer = try Informer(client.resource(TaskPhaseView.self, namespace: namespace),
                                    options: WatchOptions(labelSelector: "loadtest.mcp.io/dispatch=\(runID)"))
        let watching = Task { try await informer.run() }
        let following = Task { for await event in informer.events() { tracker.observe(event.object) } }
        defer {
            watching.cancel()
            following.cancel()
        }
        try await informer.waitUntilSynced()
        let (namespace, capability, runID, timeout) = (namespace, capability, runID, timeout)
        @Sendable func runTask(_ name: String, index: Int) async throws {
            tracker.expect(name)
            _ = try await taskClient.create(TaskResource(
                metadata: ObjectMeta(name: name, namespace: namespace, labels: ["loadtest.mcp.io/dispatch": runID]),
                spec: TaskSpec(requiredCapabilities: [capability], payload: ["index": .int(Int64(index))])))
            try await SystemClock().withTimeout(timeout) { try await tracker.completion(of: name) }
        }
        // The raw run just before left the controller its writes and then the deletion of its Tasks to read, tens of
        // thousands of events on the same two cores. One task through first, not counted: the controller reads a
        // watch in order, so once it has assigned this task it has read all that came before, and the clock starts
        // on a system that has caught up instead of on its backlog. It is deleted at once, even with --no-cleanup:
        // what is left for kubectl to see is the run's own `count` Tasks.
        let warmUp = "dispatch-\(runID)-warm-up"
        try await runTask(warmUp, index: -1)
        tracker.forget(warmUp)
        try await taskClient.delete(warmUp)
        let result = try await driver { index in try await runTask("dispatch-\(runID)-\(index)", index: index) }
        let latencies = tracker.latencies()
        return Outcome(run: result, assigned: latencies.assigned, completed: latencies.completed, creations: tracker.creations())
    }
}

/// The loadtest's agents. They share one client, so one HTTP/2 connection: pods would each have their own, but
/// here they share the machine's two cores with what is measured, and eight TLS connections, each with its
/// own libcurl thread, would measure the harness more than the control plane.
struct SimulatedFleet: Sendable {
    let names: [String]
    let namespace: String
    private let runs: [Task<Void, any Error>]
    private let client: KubeClient

    static func start(count: Int, slotsEach: Int, capability: String, namespace: String, workTime: Duration,
                      connection: ConnectionOptions) async throws -> SimulatedFleet {
        var names: [String] = []
        var runs: [Task<Void, any Error>] = []
        let client = try connection.client()
        for index in 0..<count {
            let name = "\(capability)-agent-\(index)"
            let runtime = AgentRuntime(
                client: client,
                configuration: AgentConfiguration(name: name, namespace: namespace,
                                                  spec: AgentSpec(capabilities: [capability], maxConcurrentTasks: slotsEach)),
                handler: { task in
                    if workTime > .zero { try await Task.sleep(for: workTime) }
                    return ["echo": task.spec.payload ?? .null]
                })
            names.append(name)
            runs.append(Task { try await runtime.run() })
        }
        return SimulatedFleet(names: names, namespace: namespace, runs: runs, client: client)
    }

    /// Waits until the controller's health monitor has marked every agent Ready: proof that a controller runs.
    func waitUntilReady(client: KubeClient, timeout: Duration) async throws {
        let agents = client.resource(Agent.self, namespace: namespace)
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let ready = try await agents.list().items.filter { names.contains($0.name) && $0.status.phase == .ready }.count
            if ready == names.count { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw ValidationError("no controller marked the \(names.count) agents Ready within \(timeout): is `conductor dev` or `conductor run` running against this API server, with --agent-namespace \(namespace)?")
    }

    func stop() async {
        for run in runs { run.cancel() }
        for run in runs { _ = await run.result }
        await client.shutdown()
    }

    func delete(client: KubeClient) async {
        for name in names {
            try? await client.resource(Agent.self, namespace: namespace).delete(name)
            try? await client.resource(Lease.self, namespace: namespace).delete(HeartbeatLease.name(forAgent: name))
        }
    }
}

/// When each Task was created, first seen assigned, and completed, by the watch: no polling.
final class DispatchTracker: Sendable {
    private struct Entry {
        var created: ContinuousClock.Instant
        var assigned: ContinuousClock.Instant?
        var finished: Result<ContinuousClock.Instant, DispatchFailure>?
        var waiter: CheckedContinuation<Void, any Error>?
    }

    private let entries = Mutex<[String: Entry]>([:])

    /// Called just before the create is sent.
    func expect(_ name: String) {
        entries.withLock { $0[name] = Entry(created: .now) }
    }

    func observe(_ task: TaskPhaseView) {
        let now = ContinuousClock.now
        let waiter = entries.withLock { entries -> CheckedContinuation<Void, any Error>? in
            guard var entry = entries[task.name] else { return nil }
            defer { entries[task.name] = entry }
            let phase = task.status?.phase.flatMap(TaskPhase.init(rawValue:)) ?? .pending
            if entry.assigned == nil, phase != .pending { entry.assigned = now }
            guard entry.finished == nil else { return nil }
            let reason = task.status?.reason.map(Reason.init(rawValue:))
            if phase == .completed {
                entry.finished = .success(now)
            } else if phase == .failed, let reason, Reason.finalFailures.contains(reason) {
                entry.finished = .failure(DispatchFailure(task: task.name, reason: reason.rawValue, message: task.status?.message ?? ""))
            } else {
                return nil
            }
            defer { entry.waiter = nil }
            return entry.waiter
        }
        waiter?.resume()
    }

    /// Leaves a task out of the figures.
    func forget(_ name: String) {
        _ = entries.withLock { $0.removeValue(forKey: name) }
    }

    /// Returns once the task is Completed; throws when it failed for good.
    func completion(of name: String) async throws {
        try await withCheckedThrowingContinuation { (waiter: CheckedContinuation<Void, any Error>) in
            // nil: parked, to be resumed by `observe`; else the answer now.
            let answer = entries.withLock { entries -> Result<Void, any Error>? in
                guard var entry = entries[name] else {
                    return .failure(DispatchFailure(task: name, reason: "unknown", message: "never expected"))
                }
                if let finished = entry.finished { return finished.map { _ in () }.mapError { $0 } }
                entry.waiter = waiter
                entries[name] = entry
                return nil
            }
            if let answer { waiter.resume(with: answer) }
        }
    }

    /// Every task's creation, as an offset from the first create, and its create-to-assigned if it was seen assigned.
    func creations() -> [(created: Duration, assigned: Duration?)] {
        entries.withLock { entries in
            guard let first = entries.values.map(\.created).min() else { return [] }
            return entries.values.map { entry in (entry.created - first, entry.assigned.map { $0 - entry.created }) }
        }
    }

    /// Sorted create-to-assigned and create-to-completed durations of the completed tasks.
    func latencies() -> (assigned: [Duration], completed: [Duration]) {
        entries.withLock { entries in
            var assigned: [Duration] = []
            var completed: [Duration] = []
            for entry in entries.values {
                guard case .success(let finished) = entry.finished else { continue }
                completed.append(finished - entry.created)
                if let at = entry.assigned { assigned.append(at - entry.created) }
            }
            return (assigned.sorted(), completed.sorted())
        }
    }
}

struct DispatchFailure: Error, CustomStringConvertible {
    var task: String
    var reason: String
    var message: String
    var description: String { "task \(task) failed: \(reason): \(message)" }
}

struct DispatchReport {
    let run: RunResult
    let assigned: [Duration]
    let completed: [Duration]
    let raw: RunResult?
    /// `loadtest raw` again after the tasks (`--raw-after`): whether the ceiling held through the run.
    var rawAfter: RunResult? = nil
    /// Tasks/s offered in an open-loop run; nil for a closed loop.
    var offeredRate: Double? = nil
    var timeline: DispatchTimeline? = nil

    var ratio: Double? { raw.flatMap { $0.perSecond > 0 ? run.perSecond / $0.perSecond : nil } }

    /// `agents` says who ran the tasks: "8 agents", or the running agents of a capability.
    func text(tasks: Int, concurrency: Int, agents: String, server: String) -> String {
        var lines: [String] = []
        if let raw {
            lines.append(String(format: "loadtest raw (same run): %.0f lifecycles/s, p50 %.2f ms, p99 %.2f ms, errors %d",
                                raw.perSecond, raw.percentile(50).milliseconds, raw.percentile(99).milliseconds, raw.errors.total))
        }
        lines += [
            offeredRate.map { String(format: "loadtest dispatch against %@: %d tasks offered at %.0f/s (open loop), %@", server, tasks, $0, agents) }
                ?? "loadtest dispatch against \(server): \(tasks) tasks, concurrency \(concurrency), \(agents)",
            String(format: "  completed   %d in %.2f s", run.lifecycles, run.seconds),
            String(format: "  throughput  %.0f tasks/s", run.perSecond),
            String(format: "  create → assigned   p50 %.2f ms   p99 %.2f ms   p99.9 %.2f ms", percentile(assigned, 50).milliseconds,
                   percentile(assigned, 99).milliseconds, percentile(assigned, 99.9).milliseconds),
            String(format: "  create → completed  p50 %.2f ms   p99 %.2f ms   p99.9 %.2f ms", percentile(completed, 50).milliseconds,
                   percentile(completed, 99).milliseconds, percentile(completed, 99.9).milliseconds),
            "  errors      \(run.errors.total)",
        ]
        if let ratio { lines.append(String(format: "  dispatch tasks/s ÷ raw lifecycles/s: %.2f", ratio)) }
        if let rawAfter {
            lines.append(String(format: "loadtest raw after the tasks: %.0f lifecycles/s, %.2f of the ceiling before", rawAfter.perSecond,
                                raw.map { $0.perSecond > 0 ? rawAfter.perSecond / $0.perSecond : 0 } ?? 0))
            if let offeredRate, rawAfter.perSecond > 0 {
                lines.append(String(format: "  offered tasks/s ÷ raw lifecycles/s after: %.2f", offeredRate / rawAfter.perSecond))
            }
        }
        for (kind, count) in run.errors.byKind.sorted(by: { $0.value > $1.value }) { lines.append("    \(count) × \(kind)") }
        return lines.joined(separator: "\n")
    }

    var jsonText: String {
        var object: JSON = [
            "tasks": .int(Int64(run.lifecycles)), "seconds": .double(run.seconds), "tasksPerSecond": .double(run.perSecond),
            "assignedP50Milliseconds": .double(percentile(assigned, 50).milliseconds),
            "assignedP99Milliseconds": .double(percentile(assigned, 99).milliseconds),
            "assignedP999Milliseconds": .double(percentile(assigned, 99.9).milliseconds),
            "completedP50Milliseconds": .double(percentile(completed, 50).milliseconds),
            "completedP99Milliseconds": .double(percentile(completed, 99).milliseconds),
            "completedP999Milliseconds": .double(percentile(completed, 99.9).milliseconds),
            "errors": .object(JSONObject(uniqueKeysWithValues: run.errors.byKind.map { ($0.key, JSON.int(Int64($0.value))) })),
        ]
        if let offeredRate { object.set(path: ["offeredTasksPerSecond"], to: .double(offeredRate)) }
        if let timeline { object.set(path: ["timeline"], to: timeline.json) }
        if let raw {
            object.set(path: ["rawLifecyclesPerSecond"], to: .double(raw.perSecond))
            object.set(path: ["dispatchOverRaw"], to: .double(ratio ?? 0))
        }
        if let rawAfter { object.set(path: ["rawAfterLifecyclesPerSecond"], to: .double(rawAfter.perSecond)) }
        return object.text
    }

    private func percentile(_ sorted: [Duration], _ p: Double) -> Duration { nearestRank(sorted, p) }
}

/// Only what the tracker reads of a Task. Decoding the whole object for every event would spend the harness's
/// CPU, on the same machine as what it measures, on fields it never looks at.
struct TaskPhaseView: KubeResource {
    static let resource = ResourceDescriptor.tasks

    struct Status: Codable, Sendable {
        var phase: String?
        var reason: String?
        var message: String?
    }

    var metadata: ObjectMeta
    var status: Status?
}
