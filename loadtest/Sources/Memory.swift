import ArgumentParser
import ConductorAPI
import Foundation
import KubeClient
import KubeJSON

/// `loadtest memory`: the controller's resident memory with many Agents and Tasks in its caches, read from its
/// own /metrics (`process_resident_memory_bytes`) before, after the Agents, after the Tasks, and after they
/// are deleted. The Tasks wait for a capability no agent offers, so they stay Pending and cached.
struct Memory: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Fill the controller's caches with Agents and Pending Tasks; report its resident memory per object, and after the cleanup.")

    @OptionGroup var connection: ConnectionOptions

    @Option(help: "The controller's metrics endpoint (conductor dev's or run's --health-port).")
    var metricsURL = "http://127.0.0.1:8081/metrics"

    @Option(help: "How many Tasks to create.")
    var tasks = 10_000

    @Option(help: "How many Agents to create (registered only: no heartbeat, so never Ready).")
    var agents = 1_000

    @Option(help: "Where the Agents go (the controller's --agent-namespace).")
    var agentNamespace = Installation.systemNamespace

    @Option(help: "Bytes of payload per Task (the issue's measurement used Tasks of about 1.4 KB of JSON).")
    var payloadBytes = 1_000

    @Option(help: "How many creates run at once.")
    var concurrency = 64

    @Option(help: "Seconds to wait for the controller's caches to hold what was created.")
    var timeout: Double = 600

    @Option(help: "Seconds to wait before each reading once the caches hold what was written (at most 3600): the work the events started ends, and conductor trims its heap every 30 s.")
    var settle: Double = 35

    @Flag(inversion: .prefixedNo, help: "Delete what this run created when it ends (and report the memory after).")
    var cleanup = true

    @Flag(help: "Print the result as one JSON object.")
    var json = false

    func validate() throws {
        guard tasks >= 0, agents >= 0, tasks + agents > 0 else { throw ValidationError("--tasks and --agents must be 0 or more, and not both 0") }
        guard payloadBytes >= 0 else { throw ValidationError("--payload-bytes must be 0 or more") }
        guard concurrency > 0 else { throw ValidationError("--concurrency must be at least 1") }
        guard (0...3600).contains(settle) else { throw ValidationError("--settle must be 0 to 3600 seconds, got \(settle)") }
        guard let url = URL(string: metricsURL), ["http", "https"].contains(url.scheme ?? "") else {
            throw ValidationError("--metrics-url must be an http:// or https:// URL, got \(metricsURL)")
        }
    }

    func run() async throws {
        let client = try connection.client()
        try await connection.requireTasks(client)
        let scraper = try MetricsScraper(url: metricsURL, settle: .milliseconds(Int64(settle * 1000)))
        let runID = String(UInt32.random(in: 0...UInt32.max), radix: 16)
        let label = "loadtest.mcp.io/memory"
        let agentClient = client.resource(Agent.self, namespace: agentNamespace)
        let taskClient = client.resource(TaskResource.self, namespace: connection.namespace)
        let filler = String(repeating: "x", count: payloadBytes)

        let start = try await scraper.sample()
        _ = try await measure(count: agents, concurrency: concurrency) { index in
            _ = try await agentClient.create(Agent(
                metadata: ObjectMeta(name: "memory-\(runID)-agent-\(index)", namespace: agentNamespace, labels: [label: runID]),
                spec: AgentSpec(capabilities: ["memory-\(runID)-\(index % 50)"], maxConcurrentTasks: 4)))
        }
        let withAgents = try await scraper.waitUntil(timeout: .seconds(timeout)) { $0.agents >= start.agents + agents }
        _ = try await measure(count: tasks, concurrency: concurrency) { index in
            _ = try await taskClient.create(TaskResource(
                metadata: ObjectMeta(name: "memory-\(runID)-\(index)", namespace: connection.namespace, labels: [label: runID]),
                spec: TaskSpec(requiredCapabilities: ["memory-\(runID)-nobody"], payload: ["index": .int(Int64(index)), "filler": .string(filler)])))
        }
        let withTasks = try await scraper.waitUntil(timeout: .seconds(timeout)) { $0.tasks >= start.tasks + tasks }
        var afterCleanup: MetricsScraper.Sample?
        if cleanup {
            try await taskClient.deleteCollection(ListOptions(labelSelector: "\(label)=\(runID)"))
            try await agentClient.deleteCollection(ListOptions(labelSelector: "\(label)=\(runID)"))
            afterCleanup = try await scraper.waitUntil(timeout: .seconds(timeout)) { $0.tasks <= start.tasks && $0.agents <= start.agents }
        }
        await scraper.shutdown()
        await client.shutdown()
        let report = MemoryReport(start: start, withAgents: withAgents, withTasks: withTasks, afterCleanup: afterCleanup,
                                  agents: agents, tasks: tasks)
        print(json ? report.jsonText : report.text(url: metricsURL))
    }
}

/// Reads the controller's /metrics: its resident memory and how many Tasks and Agents its caches hold.
struct MetricsScraper: Sendable {
    struct Sample {
        var residentBytes: Double
        var tasks: Int
        var agents: Int
    }

    private let transport: CurlTransport
    private let url: String
    /// The pause between the caches holding what was written and the reading.
    private let settle: Duration

    init(url: String, settle: Duration = .zero) throws {
        transport = try CurlTransport()
        self.url = url
        self.settle = settle
    }

    func sample() async throws -> Sample {
        let response: TransportResponse
        do {
            response = try await transport.send(TransportRequest(method: "GET", url: url, timeout: .seconds(10)))
        } catch {
            throw ValidationError("cannot read the controller's metrics at \(url): \(error)")
        }
        guard response.status == 200 else {
            throw ValidationError("\(url) answered HTTP \(response.status): is it the controller's metrics endpoint?")
        }
        var sample = Sample(residentBytes: -1, tasks: 0, agents: 0)
        for line in String(decoding: response.body, as: UTF8.self).split(separator: "\n") where !line.hasPrefix("#") {
            guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else { continue }
            let name = line[..<space]
            if name == "process_resident_memory_bytes" { sample.residentBytes = value }
            if name.hasPrefix("conductor_tasks{") { sample.tasks += Int(value) }
            if name.hasPrefix("conductor_agents{") { sample.agents += Int(value) }
        }
        guard sample.residentBytes >= 0 else {
            throw ValidationError("\(url) has no process_resident_memory_bytes: is it a conductor's metrics endpoint?")
        }
        return sample
    }

    /// Samples until `condition` holds (the caches took in what was written), then once more after `settle`.
    func waitUntil(timeout: Duration, _ condition: (Sample) -> Bool) async throws -> Sample {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if condition(try await sample()) {
                try await Task.sleep(for: settle)
                return try await sample()
            }
            try await Task.sleep(for: .milliseconds(500))
        }
        throw ValidationError("the controller's caches did not reach the expected counts within \(timeout) (\(try await sample()))")
    }

    func shutdown() async { await transport.shutdown() }
}

struct MemoryReport {
    let start: MetricsScraper.Sample
    let withAgents: MetricsScraper.Sample
    let withTasks: MetricsScraper.Sample
    let afterCleanup: MetricsScraper.Sample?
    let agents: Int
    let tasks: Int

    var bytesPerAgent: Double { agents > 0 ? (withAgents.residentBytes - start.residentBytes) / Double(agents) : 0 }
    var bytesPerTask: Double { tasks > 0 ? (withTasks.residentBytes - withAgents.residentBytes) / Double(tasks) : 0 }

    func text(url: String) -> String {
        var lines = [
            "loadtest memory against \(url): \(agents) Agents, \(tasks) Pending Tasks",
            "  resident at start          \(megabytes(start.residentBytes))",
            "  with the Agents            \(megabytes(withAgents.residentBytes))   \(String(format: "%.0f", bytesPerAgent)) bytes per Agent",
            "  with the Tasks             \(megabytes(withTasks.residentBytes))   \(String(format: "%.0f", bytesPerTask)) bytes per Task",
        ]
        if let afterCleanup { lines.append("  after deleting them        \(megabytes(afterCleanup.residentBytes))") }
        return lines.joined(separator: "\n")
    }

    var jsonText: String {
        var object: JSON = [
            "agents": .int(Int64(agents)), "tasks": .int(Int64(tasks)),
            "startResidentBytes": .double(start.residentBytes), "withAgentsResidentBytes": .double(withAgents.residentBytes),
            "withTasksResidentBytes": .double(withTasks.residentBytes),
            "bytesPerAgent": .double(bytesPerAgent), "bytesPerTask": .double(bytesPerTask),
        ]
        if let afterCleanup { object.set(path: ["afterCleanupResidentBytes"], to: .double(afterCleanup.residentBytes)) }
        return object.text
    }
}
