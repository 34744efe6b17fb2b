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

    @Option(help: "How many simulated agents; each has enough slots for its share of --concurrency.")
    var agents = 8

    @Option(help: "Where the agents register (the controller's --agent-namespace).")
    var agentNamespace = Installation.systemNamespace

    @Option(help: "How long each simulated task runs, in milliseconds.")
    var workMilliseconds = 0

    @Option(help: "Seconds to wait for the controller to mark the agents Ready, and for each Task to finish.")
    var timeout: Double = 60

    @Flag(inversion: .prefixedNo, help: "First run loadtest raw with the same --tasks and --concurrency, for the ratio.")
    var raw = true

    func validate() throws {
        guard agents > 0 else { throw ValidationError("--agents must be at least 1") }
        guard workMilliseconds >= 0 else { throw ValidationError("--work-milliseconds must be 0 or more") }
        guard timeout > 0 else { throw ValidationError("--timeout must be above 0") }
    }

    func run() async throws {
        let (tasks, concurrency, json, cleanup) = (runOptions.tasks, runOptions.concurrency, runOptions.json, runOptions.cleanup)
        let client = try connection.client()
        let taskClient = client.resource(TaskResource.self, namespace: connection.namespace)
        try await connection.requireTasks(client)
        let runID = String(UInt32.random(in: 0...UInt32.max), radix: 16)
        let rawResult = raw
            ? try await RawLifecycleRun(tasks: client.resource(taskResource, namespace: connection.namespace), runID: runID,
                                        count: tasks, concurrency: concurrency).run()
            : nil
        if raw, cleanup {
            try? await client.resource(taskResource, namespace: connection.namespace)
                .deleteCollection(ListOptions(labelSelector: "loadtest.mcp.io/run=\(runID)"))
        }

        let capability = "loadtest-\(runID)"
        let fleet = try await SimulatedFleet.start(
            count: agents, slotsEach: (concurrency + agents - 1) / agents, capability: capability, namespace: agentNamespace,
            workTime: .milliseconds(workMilliseconds), connection: connection)
        let tracker = DispatchTracker()
        let informer = try Informer(client.resource(TaskPhaseView.self, namespace: connection.namespace),
                                    options: WatchOptions(labelSelector: "loadtest.mcp.io/dispatch=\(runID)"))
        let watching = Task { try await informer.run() }
        let following = Task { for await event in informer.events() { tracker.observe(event.object) } }
        defer {
            watching.cancel()
            following.cancel()
        }
        do {
            try await informer.waitUntilSynced()
            try await fleet.waitUntilReady(client: client, timeout: .seconds(timeout))
        } catch {
            await fleet.stop()
            throw error
        }

        let waitLimit = Duration.seconds(timeout)
        let result = try await measure(count: tasks, concurrency: concurrency) { index in
            let name = "dispatch-\(runID)-\(index)"
            tracker.expect(name)
            _ = try await taskClient.create(TaskResource(
                metadata: ObjectMeta(name: name, namespace: connection.namespace, labels: ["loadtest.mcp.io/dispatch": runID]),
                spec: TaskSpec(requiredCapabilities: [capability], payload: ["index": .int(Int64(index))])))
            try await SystemClock().withTimeout(waitLimit) { try await tracker.completion(of: name) }
        }
        await fleet.stop()
        if cleanup {
            try? await taskClient.deleteCollection(ListOptions(labelSelector: "loadtest.mcp.io/dispatch=\(runID)"))
            await fleet.delete(client: client)
        }
        await client.shutdown()
        let latencies = tracker.latencies()
        let report = DispatchReport(run: result, assigned: latencies.assigned, completed: latencies.completed, raw: rawResult)
        print(json ? report.jsonText : report.text(tasks: tasks, concurrency: concurrency, agents: agents, server: client.config.server))
        if result.lifecycles == 0 { throw ExitCode.failure }
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

    var ratio: Double? { raw.flatMap { $0.perSecond > 0 ? run.perSecond / $0.perSecond : nil } }

    func text(tasks: Int, concurrency: Int, agents: Int, server: String) -> String {
        var lines: [String] = []
        if let raw {
            lines.append(String(format: "loadtest raw (same run): %.0f lifecycles/s, p50 %.2f ms, p99 %.2f ms, errors %d",
                                raw.perSecond, raw.percentile(50).milliseconds, raw.percentile(99).milliseconds, raw.errors.total))
        }
        lines += [
            "loadtest dispatch against \(server): \(tasks) tasks, concurrency \(concurrency), \(agents) agents",
            String(format: "  completed   %d in %.2f s", run.lifecycles, run.seconds),
            String(format: "  throughput  %.0f tasks/s", run.perSecond),
            String(format: "  create → assigned   p50 %.2f ms   p99 %.2f ms", percentile(assigned, 50).milliseconds, percentile(assigned, 99).milliseconds),
            String(format: "  create → completed  p50 %.2f ms   p99 %.2f ms", percentile(completed, 50).milliseconds, percentile(completed, 99).milliseconds),
            "  errors      \(run.errors.total)",
        ]
        if let ratio { lines.append(String(format: "  dispatch tasks/s ÷ raw lifecycles/s: %.2f", ratio)) }
        for (kind, count) in run.errors.byKind.sorted(by: { $0.value > $1.value }) { lines.append("    \(count) × \(kind)") }
        return lines.joined(separator: "\n")
    }

    var jsonText: String {
        var object: JSON = [
            "tasks": .int(Int64(run.lifecycles)), "seconds": .double(run.seconds), "tasksPerSecond": .double(run.perSecond),
            "assignedP50Milliseconds": .double(percentile(assigned, 50).milliseconds),
            "assignedP99Milliseconds": .double(percentile(assigned, 99).milliseconds),
            "completedP50Milliseconds": .double(percentile(completed, 50).milliseconds),
            "completedP99Milliseconds": .double(percentile(completed, 99).milliseconds),
            "errors": .object(JSONObject(uniqueKeysWithValues: run.errors.byKind.map { ($0.key, JSON.int(Int64($0.value))) })),
        ]
        if let raw {
            object.set(path: ["rawLifecyclesPerSecond"], to: .double(raw.perSecond))
            object.set(path: ["dispatchOverRaw"], to: .double(ratio ?? 0))
        }
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
