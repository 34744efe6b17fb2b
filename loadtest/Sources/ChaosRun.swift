import ConductorAPI
import Foundation
import KubeClient
import KubeJSON
import Synchronization

/// One chaos soak on a started `ChaosCluster`: creates the tasks at a fixed rate with a bound on those in flight
/// while the fault injector works, stops the faults once every task is created, waits until every task is final
/// (or the deadline), and checks the invariants.
struct ChaosRun: Sendable {
    struct Settings: Sendable {
        var tasks: Int
        var rate: Double
        var maxInFlight: Int
        var maxRetries: Int
        var maxAgentLossRetries: Int
        var timeout: Duration
        var faults: FaultInjector.Settings
    }

    struct Outcome {
        var elapsed: Duration
        var allFinal: Bool
        var createRetries: Int
        var faults: [ChaosReport.FaultRow]
        var invariants: ChaosInvariants
        var createToFinal: [Duration]
    }

    let cluster: ChaosCluster
    let client: KubeClient
    let settings: Settings
    let runID: String

    static let label = "loadtest.mcp.io/chaos"

    func name(_ index: Int) -> String { "chaos-\(runID)-\(index)" }

    func run() async throws -> Outcome {
        let namespace = cluster.settings.namespace
        let tracker = try ChaosTracker(client: client, namespace: namespace, labelSelector: "\(Self.label)=\(runID)")
        let watching = Task { await tracker.run() }
        defer { watching.cancel() }
        try await tracker.waitUntilSynced()

        let clock = ContinuousClock()
        let started = clock.now
        let deadline = started + settings.timeout
        let injector = FaultInjector(cluster: cluster, tracker: tracker, client: client, settings: settings.faults, started: started)
        let injecting = Task { await injector.run() }
        let createRetries = await createAll(tracker: tracker, started: started, deadline: deadline)
        // The faults end with the arrivals; the fault in progress ends at once, its process started again.
        injecting.cancel()
        await injecting.value
        let allFinal = await tracker.waitUntilFinal(count: settings.tasks, deadline: deadline)
        let elapsed = clock.now - started

        let tasks = try await listAtTheEnd(namespace: namespace)
        watching.cancel()
        await watching.value
        // Executions of killed agents' leftover scripts end within their work time; give them that.
        try? await Task.sleep(for: .seconds(1))
        let ledger = try ChaosLedger(path: cluster.ledgerPath)
        let invariants = ChaosInvariants(
            expected: (0..<settings.tasks).map(name), tasks: tasks, ledger: ledger, changedAfterFinal: tracker.changedAfterFinal,
            maxRetries: settings.maxRetries, maxAgentLossRetries: settings.maxAgentLossRetries)
        let rows = injector.records.map { record in
            ChaosReport.FaultRow(
                kind: record.kind, target: record.target, offset: injector.offset(record.at),
                restartedAfter: record.restartedAt.map { ($0 - record.at).seconds }, downtime: record.downtime?.seconds,
                held: record.held.count, recovery: record.recovery(tracker)?.seconds, note: record.note)
        }
        return Outcome(elapsed: elapsed, allFinal: allFinal, createRetries: createRetries, faults: rows, invariants: invariants,
                       createToFinal: tracker.createToFinal())
    }

    /// Creates every task: the n-th at n / rate seconds (when a rate is given), and never more than `maxInFlight`
    /// created and not yet final. A create that fails (the API server is down) is sent again until it succeeds;
    /// AlreadyExists means an earlier one landed. Returns how many creates were sent again.
    private func createAll(tracker: ChaosTracker, started: ContinuousClock.Instant, deadline: ContinuousClock.Instant) async -> Int {
        let tasks = client.resource(TaskResource.self, namespace: cluster.settings.namespace)
        let interval: Duration? = settings.rate > 0 ? .seconds(1 / settings.rate) : nil
        var retries = 0
        for index in 0..<settings.tasks {
            if let interval { try? await Task.sleep(until: started + interval * index, clock: .continuous) }
            while index - tracker.finalCount >= settings.maxInFlight, ContinuousClock.now < deadline {
                try? await Task.sleep(for: .milliseconds(20))
            }
            let task = TaskResource(
                metadata: ObjectMeta(name: name(index), namespace: cluster.settings.namespace, labels: [Self.label: runID]),
                spec: TaskSpec(requiredCapabilities: [cluster.settings.capability], payload: ["index": .int(Int64(index))],
                               retryPolicy: RetryPolicy(maxRetries: settings.maxRetries, backoffStrategy: .linear)))
            tracker.expect(task.name)
            while ContinuousClock.now < deadline, !Task.isCancelled {
                do {
                    _ = try await tasks.create(task)
                    break
                } catch let error as KubeAPIError where error.reason == .alreadyExists {
                    break
                } catch {
                    retries += 1
                    try? await Task.sleep(for: .milliseconds(200))
                }
            }
        }
        return retries
    }

    /// The run's Tasks as the API server holds them at the end (again while it does not answer, for a minute).
    private func listAtTheEnd(namespace: String) async throws -> [ChaosTaskView] {
        let tasks = client.resource(ChaosTaskView.self, namespace: namespace)
        let options = ListOptions(labelSelector: "\(Self.label)=\(runID)")
        let deadline = ContinuousClock.now + .seconds(60)
        while true {
            do {
                return try await tasks.listAll(options).items
            } catch {
                guard ContinuousClock.now < deadline else { throw error }
                try await Task.sleep(for: .milliseconds(500))
            }
        }
    }
}
