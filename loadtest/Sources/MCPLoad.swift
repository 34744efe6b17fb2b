import ArgumentParser
import ConductorAPI
import Foundation
import KubeClient
import KubeJSON
import Synchronization

/// `loadtest mcp`: tool calls through the MCP front end to simulated agents, beside `loadtest dispatch` in the
/// same run with the same agents. A call is a Task the front end creates and awaits; dispatch creates the same
/// Tasks itself and awaits them through a watch, so `calls/s ÷ dispatch tasks/s` and the difference of their
/// latencies are what the front end costs. The calls' Tasks must land in --namespace (the front end's
/// task namespace) for the cleanup to find them.
struct MCPLoad: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mcp",
        abstract: "Call a capability's tool through the MCP front end from concurrent sessions; report calls/s, call latency and the front end's overhead per call, beside loadtest dispatch.")

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var runOptions: RunOptions

    @Option(help: "The MCP front end's streamable HTTP endpoint (conductor dev's, or a Service's).")
    var mcpURL = "http://127.0.0.1:8080/mcp"

    @Option(help: "A file holding the bearer token for the front end (for --mcp-auth kubernetes); none: no Authorization header.")
    var mcpTokenFile: String?

    @OptionGroup var fleetOptions: FleetOptions

    @Flag(inversion: .prefixedNo, help: "First run loadtest dispatch with the same agents, --tasks and --concurrency, for the ratio.")
    var dispatch = true

    func validate() throws {
        guard let url = URL(string: mcpURL), ["http", "https"].contains(url.scheme ?? "") else {
            throw ValidationError("--mcp-url must be an http:// or https:// URL, got \(mcpURL)")
        }
    }

    func run() async throws {
        let (agents, agentNamespace, workMilliseconds, timeout) =
            (fleetOptions.agents, fleetOptions.agentNamespace, fleetOptions.workMilliseconds, fleetOptions.timeout)
        let (tasks, concurrency, json, cleanup) = (runOptions.tasks, runOptions.concurrency, runOptions.json, runOptions.cleanup)
        let token = try mcpTokenFile.map { path in
            do {
                return try String(contentsOfFile: path, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
            } catch {
                throw ValidationError("--mcp-token-file \(path): \(error.localizedDescription)")
            }
        }
        let client = try connection.client()
        try await connection.requireTasks(client)
        let runID = String(UInt32.random(in: 0...UInt32.max), radix: 16)
        let capability = "loadtest-\(runID)"
        let fleet = try await SimulatedFleet.start(
            count: agents, slotsEach: (concurrency + agents - 1) / agents, capability: capability, namespace: agentNamespace,
            workTime: .milliseconds(workMilliseconds), connection: connection)
        // Sessions keep their HTTP/1.1 connections: one per session at most.
        let transport = try CurlTransport(configuration: .init(maxConnectionsPerHost: concurrency))
        let outcome: (dispatch: DispatchRun.Outcome?, calls: RunResult)
        do {
            try await fleet.waitUntilReady(client: client, timeout: .seconds(timeout))
            let dispatched = dispatch
                ? try await DispatchRun(client: client, namespace: connection.namespace, capability: capability, runID: runID,
                                        count: tasks, concurrency: concurrency, timeout: .seconds(timeout)).run()
                : nil
            let calls = try await MCPCallRun(transport: transport, url: mcpURL, token: token, capability: capability, count: tasks,
                                             concurrency: concurrency, timeout: .seconds(timeout)).run()
            outcome = (dispatched, calls)
        } catch {
            await fleet.stop()
            await transport.shutdown()
            throw error
        }
        await fleet.stop()
        await transport.shutdown()
        if cleanup {
            try? await client.resource(TaskResource.self, namespace: connection.namespace)
                .deleteCollection(ListOptions(labelSelector: "loadtest.mcp.io/dispatch=\(runID)"))
            await MCPCallRun.deleteTasks(capability: capability, client: client, namespace: connection.namespace)
            await fleet.delete(client: client)
        }
        await client.shutdown()
        let report = MCPLoadReport(calls: outcome.calls, dispatch: outcome.dispatch)
        print(json ? report.jsonText : report.text(tasks: tasks, concurrency: concurrency, agents: agents, url: mcpURL))
        if outcome.calls.lifecycles == 0 { throw ExitCode.failure }
    }
}

/// `concurrency` MCP sessions calling the capability's tool, `count` calls in all, each awaited to its result.
struct MCPCallRun: Sendable {
    let transport: CurlTransport
    let url: String
    let token: String?
    let capability: String
    let count: Int
    let concurrency: Int
    let timeout: Duration

    func run() async throws -> RunResult {
        var sessions: [MCPClientSession] = []
        for _ in 0..<min(concurrency, count) { sessions.append(try await MCPClientSession.open(transport: transport, url: url, token: token)) }
        try await waitForTool(on: sessions[0])
        let pool = SessionPool(sessions)
        let (capability, timeout) = (capability, timeout)
        let result = try await measure(count: count, concurrency: concurrency) { index in
            let session = pool.take()
            defer { pool.give(session) }
            let answer = try await SystemClock().withTimeout(timeout) {
                try await session.request("tools/call", ["name": .string(capability), "arguments": ["index": .int(Int64(index))]])
            }
            if answer["isError"]?.bool == true {
                throw MCPLoadError(operation: "tools/call", status: 200, message: "tool error: \(answer["content"]?.text ?? "")")
            }
        }
        for session in sessions { await session.close() }
        return result
    }

    /// The front end lists a capability's tool once an agent offering it is Ready in its cache.
    private func waitForTool(on session: MCPClientSession) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let listed = try await session.request("tools/list", [:])
            if listed["tools"]?.array?.contains(where: { $0["name"]?.string == capability }) == true { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw ValidationError("the MCP front end at \(url) did not list the tool \(capability) within \(timeout): does it run beside the controller that marked the agents Ready?")
    }

    /// Deletes the calls' Tasks: the front end names them itself, so they are found by their capability.
    static func deleteTasks(capability: String, client: KubeClient, namespace: String) async {
        let tasks = client.resource(TaskResource.self, namespace: namespace)
        guard let listed = try? await tasks.list() else { return }
        for task in listed.items where task.spec.requiredCapabilities == [capability] { try? await tasks.delete(task.name) }
    }
}

/// Hands each worker a session of its own.
final class SessionPool: Sendable {
    private let idle: Mutex<[MCPClientSession]>

    init(_ sessions: [MCPClientSession]) { idle = Mutex(sessions) }

    /// There are as many sessions as workers, so one is always idle when a worker asks.
    func take() -> MCPClientSession { idle.withLock { $0.removeLast() } }
    func give(_ session: MCPClientSession) { idle.withLock { $0.append(session) } }
}

/// The calls beside the dispatch run. The front end's overhead is a call's latency less a Task's create →
/// completed in the dispatch run, percentile by percentile: both are measured from the request that starts the
/// work to the moment its end is known (by the front end's watch, or the harness's).
struct MCPLoadReport {
    let calls: RunResult
    let dispatch: DispatchRun.Outcome?

    var ratio: Double? { dispatch.flatMap { $0.run.perSecond > 0 ? calls.perSecond / $0.run.perSecond : nil } }

    func overhead(_ p: Double) -> Duration? { dispatch.map { calls.percentile(p) - nearestRank($0.completed, p) } }

    func text(tasks: Int, concurrency: Int, agents: Int, url: String) -> String {
        var lines: [String] = []
        if let dispatch {
            lines.append(String(format: "loadtest dispatch (same run, same agents): %.0f tasks/s, create → completed p50 %.2f ms, p99 %.2f ms, errors %d",
                                dispatch.run.perSecond, nearestRank(dispatch.completed, 50).milliseconds,
                                nearestRank(dispatch.completed, 99).milliseconds, dispatch.run.errors.total))
        }
        lines += [
            "loadtest mcp against \(url): \(tasks) tool calls, \(concurrency) sessions, \(agents) agents",
            String(format: "  completed   %d in %.2f s", calls.lifecycles, calls.seconds),
            String(format: "  throughput  %.0f calls/s", calls.perSecond),
            String(format: "  call latency  p50 %.2f ms   p99 %.2f ms", calls.percentile(50).milliseconds, calls.percentile(99).milliseconds),
            "  errors      \(calls.errors.total)",
        ]
        if let ratio, let p50 = overhead(50), let p99 = overhead(99) {
            lines.append(String(format: "  mcp calls/s ÷ dispatch tasks/s: %.2f", ratio))
            lines.append(String(format: "  front-end overhead (call latency − dispatch create → completed)  p50 %.2f ms   p99 %.2f ms",
                                p50.milliseconds, p99.milliseconds))
        }
        for (kind, count) in calls.errors.byKind.sorted(by: { $0.value > $1.value }) { lines.append("    \(count) × \(kind)") }
        return lines.joined(separator: "\n")
    }

    var jsonText: String {
        var object: JSON = [
            "calls": .int(Int64(calls.lifecycles)), "seconds": .double(calls.seconds), "callsPerSecond": .double(calls.perSecond),
            "callP50Milliseconds": .double(calls.percentile(50).milliseconds),
            "callP99Milliseconds": .double(calls.percentile(99).milliseconds),
            "errors": .object(JSONObject(uniqueKeysWithValues: calls.errors.byKind.map { ($0.key, JSON.int(Int64($0.value))) })),
        ]
        if let dispatch, let p50 = overhead(50), let p99 = overhead(99) {
            object.set(path: ["dispatchTasksPerSecond"], to: .double(dispatch.run.perSecond))
            object.set(path: ["dispatchCompletedP50Milliseconds"], to: .double(nearestRank(dispatch.completed, 50).milliseconds))
            object.set(path: ["mcpOverDispatch"], to: .double(ratio ?? 0))
            object.set(path: ["overheadP50Milliseconds"], to: .double(p50.milliseconds))
            object.set(path: ["overheadP99Milliseconds"], to: .double(p99.milliseconds))
        }
        return object.text
    }
}
