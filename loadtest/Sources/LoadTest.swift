import ArgumentParser
import Foundation
import KubeClient
import KubeJSON
import Synchronization

@main
struct LoadTest: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "loadtest",
        abstract: "Load tests for MCP Conductor.",
        subcommands: [Raw.self])
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

    func client() throws -> KubeClient {
        var config = try ClientConfig.kubeconfig(path: kubeconfig, context: context)
        if qps > 0 { config.rateLimit = RateLimit(qps: qps, burst: max(1, Int(qps))) }
        return try KubeClient(config: config)
    }
}

/// `loadtest raw`: the API server's own throughput for the Task lifecycle, with no controller: create a Task
/// and patch its status three times (Assigned, Running, Completed), as the controller and an agent would.
struct Raw: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create Tasks and patch each one's status to Assigned, Running and Completed; report lifecycles/s and latency.")

    @OptionGroup var connection: ConnectionOptions

    @Option(help: "How many Task lifecycles to run.")
    var tasks = 2000

    @Option(help: "How many lifecycles run at once.")
    var concurrency = 64

    @Flag(help: "Print the result as one JSON object.")
    var json = false

    @Flag(inversion: .prefixedNo, help: "Delete the Tasks this run created when it ends.")
    var cleanup = true

    func validate() throws {
        guard tasks > 0 else { throw ValidationError("--tasks must be at least 1") }
        guard concurrency > 0 else { throw ValidationError("--concurrency must be at least 1") }
    }

    func run() async throws {
        let client = try connection.client()
        let taskClient = client.resource(taskResource, namespace: connection.namespace)
        do {
            _ = try await taskClient.list(ListOptions(limit: 1))
        } catch let error as KubeAPIError where error.reason == .notFound {
            throw ValidationError("Tasks are not served in namespace \(connection.namespace) (\(error.message)): apply deploy/crds first (kubectl apply -f deploy/crds)")
        }
        let runID = String(UInt32.random(in: 0...UInt32.max), radix: 16)
        let result = try await RawLifecycleRun(tasks: taskClient, runID: runID, count: tasks, concurrency: concurrency).run()
        if cleanup {
            try? await taskClient.deleteCollection(ListOptions(labelSelector: "loadtest.mcp.io/run=\(runID)"))
        }
        await client.shutdown()
        print(json ? result.jsonText : result.report(tasks: tasks, concurrency: concurrency, server: client.config.server))
        if result.errors.total == result.lifecycles + result.errors.total && result.lifecycles == 0 {
            throw ExitCode.failure
        }
    }
}

let taskResource = ResourceDescriptor(group: "mcp.io", version: "v1", plural: "tasks", kind: "Task", namespaced: true)

/// Runs `count` lifecycles with `concurrency` workers and measures each one.
struct RawLifecycleRun: Sendable {
    let tasks: ResourceClient<JSON>
    let runID: String
    let count: Int
    let concurrency: Int

    func run() async throws -> RunResult {
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
                            try await lifecycle(index)
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

    private func lifecycle(_ index: Int) async throws {
        let name = "raw-\(runID)-\(index)"
        let task: JSON = [
            "apiVersion": "mcp.io/v1", "kind": "Task",
            "metadata": ["name": .string(name), "labels": ["loadtest.mcp.io/run": .string(runID)]],
            "spec": ["requiredCapabilities": ["echo"], "priority": 5, "payload": ["index": .int(Int64(index))]],
        ]
        _ = try await tasks.create(task)
        let assigned = Timestamp.now()
        _ = try await tasks.patchStatus(name, .merge(["status": [
            "phase": "Assigned", "assignedAgent": "loadtest-agent", "attempt": 1,
            "conditions": [["type": "Assigned", "status": "True", "reason": "Scheduled", "message": "assigned by loadtest raw",
                            "lastTransitionTime": .string(assigned)]],
        ]]))
        _ = try await tasks.patchStatus(name, .merge(["status": ["phase": "Running", "startTime": .string(Timestamp.now())]]))
        _ = try await tasks.patchStatus(name, .merge(["status": [
            "phase": "Completed", "completionTime": .string(Timestamp.now()), "result": ["ok": true],
        ]]))
    }
}

/// Hands out 0, 1, 2, ... to concurrent workers.
final class IndexDispenser: Sendable {
    private let next = Atomic<Int>(0)
    func take() -> Int { next.add(1, ordering: .relaxed).oldValue }
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

    func percentile(_ p: Double) -> Duration {
        guard !durations.isEmpty else { return .zero }
        let rank = Int((p / 100 * Double(durations.count)).rounded(.up)) - 1
        return durations[min(max(rank, 0), durations.count - 1)]
    }

    func report(tasks: Int, concurrency: Int, server: String) -> String {
        var lines = [
            "loadtest raw against \(server): \(tasks) lifecycles (create + 3 status patches), concurrency \(concurrency)",
            String(format: "  completed   %d in %.2f s", lifecycles, seconds),
            String(format: "  throughput  %.0f lifecycles/s (%.0f writes/s)", perSecond, perSecond * 4),
            String(format: "  latency     p50 %.2f ms   p99 %.2f ms   max %.2f ms", percentile(50).milliseconds, percentile(99).milliseconds,
                   (durations.last ?? .zero).milliseconds),
            "  errors      \(errors.total)",
        ]
        for (kind, count) in errors.byKind.sorted(by: { $0.value > $1.value }) {
            lines.append("    \(count) × \(kind)")
        }
        return lines.joined(separator: "\n")
    }

    var jsonText: String {
        let errorObject = JSONObject(uniqueKeysWithValues: errors.byKind.map { ($0.key, JSON.int(Int64($0.value))) })
        let object: JSON = [
            "lifecycles": .int(Int64(lifecycles)), "seconds": .double(seconds), "lifecyclesPerSecond": .double(perSecond),
            "p50Milliseconds": .double(percentile(50).milliseconds), "p99Milliseconds": .double(percentile(99).milliseconds),
            "errors": .object(errorObject),
        ]
        return object.text
    }
}

enum Timestamp {
    /// RFC 3339 in UTC with whole seconds, as metav1.Time serializes.
    static func now() -> String {
        Date().formatted(.iso8601.year().month().day().dateSeparator(.dash).time(includingFractionalSeconds: false).timeSeparator(.colon).timeZone(separator: .omitted))
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
    var milliseconds: Double { seconds * 1000 }
}
