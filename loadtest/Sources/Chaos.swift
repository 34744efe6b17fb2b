import ArgumentParser
import Dispatch
import Foundation
import KubeClient
#if canImport(Glibc)
import Glibc
#endif

/// `loadtest chaos`: a soak of many tasks through a real system of processes it starts itself from the built
/// `conductor` (an API server, two leader-elected controller replicas, `--agents` agents), while a seeded fault
/// injector kills agents mid-task, the leader and the API server, and stalls agents; then it checks that every
/// task ended once, as the Tasks and the agents' own ledger tell, and reports the recovery times per kind of fault.
struct Chaos: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run tasks through conductor processes it starts while killing and stalling them; check that every task ends once, and report recovery times.")

    @Option(help: "How many tasks.")
    var tasks = 10_000

    @Option(help: "How many `conductor agent` processes.")
    var agents = 4

    @Option(help: "Tasks each agent runs at once (its maxConcurrentTasks).")
    var slots = 8

    @Option(help: "Tasks created per second (an open loop, held back only by --max-in-flight); 0: as fast as --max-in-flight allows.")
    var rate: Double = 50

    @Option(help: "At most this many tasks created and not yet final.")
    var maxInFlight = 200

    @Option(help: "How long each task's work takes, in milliseconds (a sleep in the task's script).")
    var workMilliseconds = 100

    @Option(help: "Seed of the fault schedule (which fault, which agent, the pauses); random when not given, and printed.")
    var seed: UInt64?

    @Option(help: "Mean seconds between faults (each pause drawn between half and one and a half times it).")
    var faultInterval: Double = 10

    @Option(help: "The faults to inject, comma-separated: agent, leader, apiserver, stall; or none.")
    var faults = "agent,leader,apiserver,stall"

    @Option(help: "Longest wait, in seconds, before a killed process is started again (each drawn from 0.2 s up).")
    var restartDelay: Double = 3

    @Option(help: "Longest stall (SIGSTOP to SIGCONT) of an agent, in seconds (each drawn from 1 s up).")
    var stallSeconds: Double = 6

    @Option(help: "Each task's spec.retryPolicy.maxRetries (faults spend agent-loss retries; a stalled agent's fenced-off attempt may spend one).")
    var maxRetries = 10

    @Option(help: "The controllers' --max-agent-loss-retries.")
    var maxAgentLossRetries = 10

    @Option(help: "The controllers' leader-election lease, in seconds (renew deadline 2/3 of it, retry period 1/6).")
    var leaderLeaseSeconds = 3

    @Option(help: "The agents' heartbeat lease, in seconds (renewed every third of it).")
    var agentLeaseSeconds = 3

    @Option(help: "The API server's --max-requests-inflight: with a small one it answers 429 under the load (overload); the report counts those answers.")
    var apiServerMaxRequestsInflight: Int?

    @Option(help: "Seconds for the whole run once the system is up: creating the tasks and waiting until every one is final.")
    var timeout: Double = 1800

    @Option(help: "The namespace of the tasks (created when missing).")
    var namespace = "default"

    @Option(help: "The conductor binary; default: the one beside this executable.")
    var conductor: String?

    @Option(help: "The folder of the CRDs; default: deploy/crds of the working directory or of the repository above the conductor binary.")
    var crds: String?

    @Option(help: "Where the processes' data, configurations, logs and the ledger go; default: a new folder in the temporary directory.")
    var workDir: String?

    @Flag(help: "Keep the work directory when every invariant holds (it is always kept otherwise).")
    var keepWorkDir = false

    @Option(help: "CONDUCTOR_LOG_LEVEL of the processes (trace, debug, info, notice, warning, error).")
    var childLogLevel = "info"

    @Flag(help: "Print the result as one JSON object.")
    var json = false

    var faultKinds: [FaultKind] {
        get throws {
            let names = faults.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            if names == ["none"] { return [] }
            return try names.map { name in
                guard let kind = FaultKind(rawValue: name) else {
                    throw ValidationError("--faults: unknown fault \"\(name)\"; choose among \(FaultKind.allCases.map(\.rawValue).joined(separator: ", ")), or none")
                }
                return kind
            }
        }
    }

    func validate() throws {
        guard tasks > 0 else { throw ValidationError("--tasks must be at least 1") }
        guard agents > 0 else { throw ValidationError("--agents must be at least 1") }
        guard slots > 0 else { throw ValidationError("--slots must be at least 1") }
        guard rate >= 0 else { throw ValidationError("--rate must be 0 or more") }
        guard maxInFlight > 0 else { throw ValidationError("--max-in-flight must be at least 1") }
        guard workMilliseconds >= 0 else { throw ValidationError("--work-milliseconds must be 0 or more") }
        guard faultInterval > 0 else { throw ValidationError("--fault-interval must be above 0") }
        guard restartDelay >= 0, stallSeconds >= 0 else { throw ValidationError("--restart-delay and --stall-seconds must be 0 or more") }
        guard maxRetries >= 0, maxAgentLossRetries >= 0 else { throw ValidationError("--max-retries and --max-agent-loss-retries must be 0 or more") }
        guard leaderLeaseSeconds >= 1, agentLeaseSeconds >= 1 else { throw ValidationError("--leader-lease-seconds and --agent-lease-seconds must be at least 1") }
        guard timeout > 0 else { throw ValidationError("--timeout must be above 0") }
        if let limit = apiServerMaxRequestsInflight, limit < 1 {
            throw ValidationError("--api-server-max-requests-inflight must be at least 1, got \(limit)")
        }
        _ = try faultKinds
    }

    func run() async throws {
        let runID = String(UInt32.random(in: 0...UInt32.max), radix: 16)
        let seed = self.seed ?? UInt64.random(in: 0...UInt64.max)
        let kinds = try faultKinds
        let conductorPath = try ChaosCluster.locateConductor(conductor)
        let crdFolder = try ChaosCluster.locateCRDs(crds, conductor: conductorPath)
        let workDirectory = URL(fileURLWithPath: workDir ?? NSTemporaryDirectory() + "loadtest-chaos-" + runID).standardizedFileURL.path
        let cluster = try ChaosCluster(settings: ChaosCluster.Settings(
            conductor: conductorPath, crdFolder: crdFolder, workDirectory: workDirectory, namespace: namespace,
            capability: "chaos-\(runID)", agents: agents, slots: slots, workMilliseconds: workMilliseconds,
            leaderLeaseSeconds: leaderLeaseSeconds, agentLeaseSeconds: agentLeaseSeconds, maxAgentLossRetries: maxAgentLossRetries,
            childLogLevel: childLogLevel, apiServerMaxRequestsInflight: apiServerMaxRequestsInflight))
        let signals = killOnSignals(cluster)
        defer { for source in signals { source.cancel() } }
        say("loadtest chaos: seed \(seed), work directory \(workDirectory); starting the API server, \(ChaosCluster.replicas) replicas and \(agents) agents")

        let outcome: ChaosRun.Outcome
        var refused: Int?
        do {
            let client = try await cluster.start()
            do {
                say("the system is up; running \(tasks) tasks")
                outcome = try await ChaosRun(
                    cluster: cluster, client: client,
                    settings: ChaosRun.Settings(
                        tasks: tasks, rate: rate, maxInFlight: maxInFlight, maxRetries: maxRetries, maxAgentLossRetries: maxAgentLossRetries,
                        timeout: .seconds(timeout),
                        faults: FaultInjector.Settings(kinds: kinds, seed: seed, interval: faultInterval, restartDelay: restartDelay,
                                                       stallSeconds: stallSeconds)),
                    runID: runID
                ).run()
                refused = await Self.requestsRefused(by: client)
            } catch {
                await client.shutdown()
                throw error
            }
            await client.shutdown()
        } catch {
            await cluster.stop()
            say("loadtest chaos failed: \(error); the processes' logs are in \(workDirectory)")
            throw error
        }
        await cluster.stop()

        let invariants = outcome.invariants
        let report = ChaosReport(
            tasks: tasks, agents: agents, slots: slots, seed: seed, interval: faultInterval, kinds: kinds, rate: rate,
            workMilliseconds: workMilliseconds, elapsed: outcome.elapsed, allFinal: outcome.allFinal, completed: invariants.completed,
            failedByReason: invariants.failedByReason, createToFinal: outcome.createToFinal,
            executionsStarted: invariants.ledger.startedCount, executionsDone: invariants.ledger.doneCount,
            tasksDoneMoreThanOnce: invariants.tasksDoneMoreThanOnce, ledgerMalformed: invariants.ledger.malformed,
            createRetries: outcome.createRetries, faults: outcome.faults, checks: invariants.checks(),
            unexpectedExits: cluster.unexpectedExits, requestsRefused: refused, workDirectory: workDirectory)
        print(json ? report.jsonText : report.text())
        if report.passed, !keepWorkDir, workDir == nil {
            try? FileManager.default.removeItem(atPath: workDirectory)
        }
        if !report.passed { throw ExitCode.failure }
    }

    /// The requests the API server answered 429 since it last started (`apiserver_dropped_requests_total`).
    private static func requestsRefused(by client: KubeClient) async -> Int? {
        guard let response = try? await client.perform(KubeClient.Request(method: "GET", path: "/metrics", accept: "text/plain")) else {
            return nil
        }
        let text = String(decoding: response.body, as: UTF8.self)
        let line = text.split(separator: "\n").first { $0.hasPrefix("apiserver_dropped_requests_total ") }
        return line.flatMap { $0.split(separator: " ").last }.flatMap { Int($0) }
    }

    /// Progress on standard error: standard output is the report.
    private func say(_ line: String) {
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }
}

/// On SIGINT or SIGTERM, kills every process of the cluster before exiting: they would outlive the harness. (A
/// free function: inside a command, `exit` is ArgumentParser's.)
private func killOnSignals(_ cluster: ChaosCluster) -> [any DispatchSourceSignal] {
    [SIGINT, SIGTERM].map { signalNumber -> any DispatchSourceSignal in
        signal(signalNumber, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
        source.setEventHandler {
            cluster.killAllNow()
            exit(128 + signalNumber)
        }
        source.resume()
        return source
    }
}
