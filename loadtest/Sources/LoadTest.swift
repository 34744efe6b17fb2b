import ArgumentParser
import ConductorAPI
import Foundation
import KubeClient
import KubeJSON
import Logging
import Synchronization

@main
struct LoadTest: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "loadtest",
        abstract: "Load tests for MCP Conductor.",
        subcommands: [Raw.self, Dispatch.self, MCPLoad.self, Memory.self, Chaos.self])

    /// Logs go to standard error, warnings and above: standard output is the report (`--json` is parsed).
    static func main() async {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = .warning
            return handler
        }
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            exit(withError: error)
        }
    }
}

struct ConnectionOptions: ParsableArguments {
    @Option(help: "The kubeconfig of the API server to load (a real cluster or `conductor dev`'s data-dir/kubeconfig).")
    var kubeconfig: String?

    @Option(help: "The kubeconfig context to use (default: its current context).")
    var context: String?

    @Option(help: "The namespace to create Tasks in.")
    var namespace = "default"

    @Option(help: "Client-side rate limit in requests per second (0: none).")
    var qps: Double = 0

    /// Throws, saying what to do, when the API server does not serve Tasks in the namespace.
    func requireTasks(_ client: KubeClient) async throws {
        do {
            _ = try await client.resource(taskResource, namespace: namespace).list(ListOptions(limit: 1))
        } catch let error as KubeAPIError where error.reason == .notFound {
            throw ValidationError("Tasks are not served in namespace \(namespace) (\(error.message)): apply deploy/crds first (kubectl apply -f deploy/crds)")
        }
    }

    func client() throws -> KubeClient {
        var config = try ClientConfig.kubeconfig(path: kubeconfig, context: context)
        if qps > 0 { config.rateLimit = RateLimit(qps: qps, burst: max(1, Int(qps))) }
        return try KubeClient(config: config)
    }
}

/// What every run takes: how many tasks, how many at once, how to report, whether to clean up.
struct RunOptions: ParsableArguments {
    @Option(help: "How many Task lifecycles to run.")
    var tasks = 2000

    @Option(help: "How many lifecycles run at once.")
    var concurrency = 64

    @Flag(help: "Print the result as one JSON object.")
    var json = false

    @Flag(inversion: .prefixedNo, help: "Delete what this run created when it ends.")
    var cleanup = true

    func validate() throws {
        guard tasks > 0 else { throw ValidationError("--tasks must be at least 1") }
        guard concurrency > 0 else { throw ValidationError("--concurrency must be at least 1") }
    }
}

/// The simulated agents of `loadtest dispatch` and `loadtest mcp`, and how long to wait for them and their work.
struct FleetOptions: ParsableArguments {
    @Option(help: "How many simulated agents; each has enough slots for its share of --concurrency.")
    var agents = 8

    @Option(help: "Where the agents register (the controller's --agent-namespace).")
    var agentNamespace = Installation.systemNamespace

    @Option(help: "How long each simulated task runs, in milliseconds.")
    var workMilliseconds = 0

    @Option(help: "Seconds to wait for the controller to mark the agents Ready (and the front end to list their tool), and for each Task or call to finish.")
    var timeout: Double = 60

    func validate() throws {
        guard agents > 0 else { throw ValidationError("--agents must be at least 1") }
        guard workMilliseconds >= 0 else { throw ValidationError("--work-milliseconds must be 0 or more") }
        guard timeout > 0 else { throw ValidationError("--timeout must be above 0") }
    }
}

/// `loadtest raw`: the API server's own throughput for the Task lifecycle, with no controller: create a Task
/// and patch its status three times (Assigned, Running, Completed), as the controller and an agent would.
struct Raw: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create Tasks and patch each one's status to Assigned, Running and Completed; report lifecycles/s and latency.")

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var runOptions: RunOptions

    @Flag(inversion: .prefixedNo, help: "First measure a baseline in the same run: as many GETs of the namespace as the lifecycles make requests, at the same concurrency.")
    var baseline = true

    func run() async throws {
        let (tasks, concurrency, json, cleanup) = (runOptions.tasks, runOptions.concurrency, runOptions.json, runOptions.cleanup)
        let client = try connection.client()
        let taskClient = client.resource(taskResource, namespace: connection.namespace)
        try await connection.requireTasks(client)
        let runID = String(UInt32.random(in: 0...UInt32.max), radix: 16)
        let baselineResult = baseline
            ? try await BaselineRun(client: client, namespace: connection.namespace, count: tasks * 4, concurrency: concurrency).run()
            : nil
        let result = try await RawLifecycleRun(tasks: taskClient, runID: runID, count: tasks, concurrency: concurrency).run()
        if cleanup {
            try? await taskClient.deleteCollection(ListOptions(labelSelector: "loadtest.mcp.io/run=\(runID)"))
        }
        await client.shutdown()
        print(json ? result.jsonText(baseline: baselineResult) : result.report(tasks: tasks, concurrency: concurrency, server: client.config.server, baseline: baselineResult))
        if result.errors.total == result.lifecycles + result.errors.total && result.lifecycles == 0 {
            throw ExitCode.failure
        }
    }
}

let taskResource = ResourceDescriptor(group: "mcp.io", version: "v1", plural: "tasks", kind: "Task", namespaced: true)

/// The same transport, TLS and HTTP/2 path with the least server work: GET the namespace, `count` times.
struct BaselineRun: Sendable {
    let client: KubeClient
    let namespace: String
    let count: Int
    let concurrency: Int

    func run() async throws -> RunResult {
        let path = "/api/v1/namespaces/\(namespace)"
        return try await measure(count: count, concurrency: concurrency) { _ in
            _ = try await client.perform(.init(method: "GET", path: path))
        }
    }
}

/// Runs `count` lifecycles with `concurrency` workers and measures each one.
struct RawLifecycleRun: Sendable {
    let tasks: ResourceClient<JSON>
    let runID: String
    let count: Int
    let concurrency: Int

    func run() async throws -> RunResult {
        try await measure(count: count, concurrency: concurrency, lifecycle)
    }

    private func lifecycle(_ index: Int) async throws {
        let name = "raw-\(runID)-\(index)"
        let task: JSON = [
            "apiVersion": "mcp.io/v1", "kind": "Task",
            "metadata": ["name": .string(name), "labels": ["loadtest.mcp.io/run": .string(runID)]],
            "spec": ["requiredCapabilities": ["echo"], "priority": 5, "payload": ["index": .int(Int64(index))]],
        ]
        _ = try await tasks.create(task)
        let assigned = KubeTimestamp.time(Date())
        _ = try await tasks.patchStatus(name, .merge(["status": [
            "phase": "Assigned", "assignedAgent": "loadtest-agent", "attempt": 1,
            "conditions": [["type": "Assigned", "status": "True", "reason": "Scheduled", "message": "assigned by loadtest raw",
                            "lastTransitionTime": .string(assigned)]],
        ]]))
        _ = try await tasks.patchStatus(name, .merge(["status": ["phase": "Running", "startTime": .string(KubeTimestamp.time(Date()))]]))
        _ = try await tasks.patchStatus(name, .merge(["status": [
            "phase": "Completed", "completionTime": .string(KubeTimestamp.time(Date())), "result": ["ok": true],
        ]]))
    }
}

/// Hands out 0, 1, 2, ... to concurrent workers.
final class IndexDispenser: Sendable {
    private let next = Atomic<Int>(0)
    func take() -> Int { next.add(1, ordering: .relaxed).oldValue }
}

/// Runs `operation(0..<count)` on `concurrency` workers and measures each call.
func measure(count: Int, concurrency: Int, _ operation: @escaping @Sendable (Int) async throws -> Void) async throws -> RunResult {

    let next = IndexDispenser()
    let clock = ContinuousClock()
    let started = clock.now
    let perWorker = try await withThrowingTaskGroup(of: WorkerResult.self) { group in
        for _ in 0..<min(concurrency, count) {
            group.addTask {
                var result = WorkerResult()
                while true {
                    let index = next.take()
                    guard index < count else { return result }
                    let begin = clock.now
                    do {
                        try await operation(index)
                        result.durations.append(clock.now - begin)
                    } catch {
                        result.errors.record(error)
                    }
                }
            }
        }
        var all: [WorkerResult] = []
        for try await result in group { all.append(result) }
        return all
    }
    let elapsed = clock.now - started
    var durations = perWorker.flatMap(\.durations)
    durations.sort()
    var errors = ErrorCounts()
    for worker in perWorker { errors.merge(worker.errors) }
    return RunResult(elapsed: elapsed, durations: durations, errors: errors)
}

/// Starts `operation(0..<count)` at `rate` per second, each at its due time whatever the ones before it are doing
/// (an open loop: work arrives as users send it), and measures each call.
func measureOpenLoop(count: Int, rate: Double, _ operation: @escaping @Sendable (Int) async throws -> Void) async throws -> RunResult {
    let clock = ContinuousClock()
    let started = clock.now
    let interval = Duration.seconds(1 / rate)
    let all = try await withThrowingTaskGroup(of: WorkerResult.self) { group in
        for index in 0..<count {
            try await clock.sleep(until: started + interval * index)
            group.addTask {
                var result = WorkerResult()
                let begin = clock.now
                do {
                    try await operation(index)
                    result.durations.append(clock.now - begin)
                } catch {
                    result.errors.record(error)
                }
                return result
            }
        }
        var all: [WorkerResult] = []
        for try await result in group { all.append(result) }
        return all
    }
    var durations = all.flatMap(\.durations)
    durations.sort()
    var errors = ErrorCounts()
    for result in all { errors.merge(result.errors) }
    return RunResult(elapsed: clock.now - started, durations: durations, errors: errors)
}

struct WorkerResult: Sendable {
    var durations: [Duration] = []
    var errors = ErrorCounts()
}

/// Failures by kind: the API server's Status reason, or the transport's error.
struct ErrorCounts: Sendable {
    var byKind: [String: Int] = [:]
    var total: Int { byKind.values.reduce(0, +) }

    mutating func record(_ error: any Error) {
        let kind: String
        switch error {
        case let error as KubeAPIError: kind = "HTTP \(error.code) \(error.status.reason ?? "")"
        case let error as TransportError: kind = "transport: \(error.message)"
        case let error as MCPLoadError: kind = "MCP \(error.operation): HTTP \(error.status)"
        default: kind = "\(type(of: error))"
        }
        byKind[kind, default: 0] += 1
    }

    mutating func merge(_ other: ErrorCounts) {
        byKind.merge(other.byKind, uniquingKeysWith: +)
    }
}

struct RunResult {
    let elapsed: Duration
    /// Sorted, successful lifecycles only.
    let durations: [Duration]
    let errors: ErrorCounts

    var lifecycles: Int { durations.count }
    var seconds: Double { elapsed.seconds }
    var perSecond: Double { Double(lifecycles) / seconds }

    func percentile(_ p: Double) -> Duration { nearestRank(durations, p) }

    func report(tasks: Int, concurrency: Int, server: String, baseline: RunResult?) -> String {
        var lines: [String] = []
        if let baseline {
            lines += [
                "baseline (GET namespace, same concurrency): \(baseline.lifecycles) requests in \(String(format: "%.2f", baseline.seconds)) s",
                String(format: "  throughput  %.0f requests/s   p50 %.2f ms   p99 %.2f ms", baseline.perSecond,
                       baseline.percentile(50).milliseconds, baseline.percentile(99).milliseconds),
            ]
        }
        lines += [
            "loadtest raw against \(server): \(tasks) lifecycles (create + 3 status patches), concurrency \(concurrency)",
            String(format: "  completed   %d in %.2f s", lifecycles, seconds),
            String(format: "  throughput  %.0f lifecycles/s (%.0f writes/s)", perSecond, perSecond * 4),
            String(format: "  latency     p50 %.2f ms   p99 %.2f ms   max %.2f ms", percentile(50).milliseconds, percentile(99).milliseconds,
                   (durations.last ?? .zero).milliseconds),
            "  errors      \(errors.total)",
        ]
        if let baseline, baseline.perSecond > 0 {
            lines.append(String(format: "  writes/s as a share of baseline requests/s: %.2f", perSecond * 4 / baseline.perSecond))
        }
        for (kind, count) in errors.byKind.sorted(by: { $0.value > $1.value }) {
            lines.append("    \(count) × \(kind)")
        }
        return lines.joined(separator: "\n")
    }

    func jsonText(baseline: RunResult?) -> String {
        let errorObject = JSONObject(uniqueKeysWithValues: errors.byKind.map { ($0.key, JSON.int(Int64($0.value))) })
        let object: JSON = [
            "lifecycles": .int(Int64(lifecycles)), "seconds": .double(seconds), "lifecyclesPerSecond": .double(perSecond),
            "p50Milliseconds": .double(percentile(50).milliseconds), "p99Milliseconds": .double(percentile(99).milliseconds),
            "errors": .object(errorObject),
        ]
        guard let baseline else { return object.text }
        var withBaseline = object
        withBaseline.set(path: ["baselineRequestsPerSecond"], to: .double(baseline.perSecond))
        withBaseline.set(path: ["writesPerSecondOverBaseline"], to: .double(perSecond * 4 / baseline.perSecond))
        return withBaseline.text
    }
}

/// Bytes as the reports print them: "52.9 MB".
func megabytes(_ bytes: Double) -> String { String(format: "%.1f MB", bytes / 1_000_000) }

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
    var milliseconds: Double { seconds * 1000 }
}

/// The nearest-rank percentile of sorted durations (zero for none).
func nearestRank(_ sorted: [Duration], _ p: Double) -> Duration {
    guard !sorted.isEmpty else { return .zero }
    let rank = Int((p / 100 * Double(sorted.count)).rounded(.up)) - 1
    return sorted[min(max(rank, 0), sorted.count - 1)]
}
