import ConductorAPI
import Foundation
import KubeClient
import Synchronization

/// Injects faults into a `ChaosCluster` one after another, at random intervals, until cancelled: each a SIGKILL
/// (and a restart after a moment) or a SIGSTOP (and a SIGCONT after a few seconds), chosen and timed by a seeded
/// generator. On cancellation the fault in progress is ended at once (the process started again), so that the
/// system is whole when the injector returns.
final class FaultInjector: Sendable {
    struct Settings: Sendable {
        var kinds: [FaultKind]
        var seed: UInt64
        /// The mean pause between faults, in seconds (each drawn between half and one and a half times it).
        var interval: Double
        /// The longest wait before a killed process is started again, in seconds (each drawn from 0.2 s up).
        var restartDelay: Double
        /// The longest stall, in seconds (each drawn from 1 s up).
        var stallSeconds: Double
    }

    private let cluster: ChaosCluster
    private let tracker: ChaosTracker
    private let client: KubeClient
    private let settings: Settings
    private let started: ContinuousClock.Instant
    private let log = Mutex<[FaultRecord]>([])

    init(cluster: ChaosCluster, tracker: ChaosTracker, client: KubeClient, settings: Settings, started: ContinuousClock.Instant) {
        self.cluster = cluster
        self.tracker = tracker
        self.client = client
        self.settings = settings
        self.started = started
    }

    /// The faults injected so far, in order.
    var records: [FaultRecord] { log.withLock { $0 } }

    /// Injects faults until cancelled.
    func run() async {
        guard !settings.kinds.isEmpty else { return }
        var random = SeededRandom(seed: settings.seed)
        // The kinds come in rounds, each in a shuffled order: a short run meets every kind once it has had as
        // many faults as there are kinds, and no kind is starved by the draw.
        var round: [FaultKind] = []
        while !Task.isCancelled {
            let quiet = settings.interval * Double.random(in: 0.5...1.5, using: &random)
            do { try await Task.sleep(for: .seconds(quiet)) } catch { return }
            if round.isEmpty { round = settings.kinds.shuffled(using: &random) }
            let kind = round.removeFirst()
            // Drawn whether used or not, so that the sequence depends on the seed alone.
            let delay = Double.random(in: 0.2...max(0.2, settings.restartDelay), using: &random)
            let stall = Double.random(in: 1...max(1, settings.stallSeconds), using: &random)
            let pick = random.next()
            let record: FaultRecord?
            switch kind {
            case .agent: record = await killAgent(pick: pick, delay: delay)
            case .stall: record = await stallAgent(pick: pick, seconds: stall)
            case .leader: record = await killLeader(delay: delay)
            case .apiserver: record = await killAPIServer(delay: delay)
            }
            if let record { log.withLock { $0.append(record) } }
        }
    }

    /// An agent that runs tasks now if any does (picked among them by `pick`), else any agent.
    private func victim(pick: UInt64) -> ManagedProcess {
        let running = tracker.runningCounts()
        let busy = cluster.agents.filter { (running[$0.name] ?? 0) > 0 && $0.isRunning }
        let pool = busy.isEmpty ? cluster.agents : busy
        return pool[Int(pick % UInt64(pool.count))]
    }

    private func killAgent(pick: UInt64, delay: Double) async -> FaultRecord {
        let agent = victim(pick: pick)
        let held = tracker.held(by: agent.name)
        var record = FaultRecord(kind: .agent, target: agent.name, at: .now, held: held)
        await agent.kill(holdDown: true)
        await pause(delay)
        do {
            try agent.start()
        } catch {
            record.note = "could not start it again: \(error)"
        }
        record.restartedAt = .now
        return record
    }

    private func stallAgent(pick: UInt64, seconds: Double) async -> FaultRecord? {
        let agent = victim(pick: pick)
        let held = tracker.held(by: agent.name)
        let at = ContinuousClock.now
        guard agent.suspend() else { return nil }
        var record = FaultRecord(kind: .stall, target: agent.name, at: at, held: held)
        record.note = String(format: "stopped %.1f s", seconds)
        await pause(seconds)
        agent.resume()
        record.restartedAt = .now
        return record
    }

    private func killLeader(delay: Double) async -> FaultRecord? {
        guard let leader = await cluster.leader(client) else { return nil }
        let (replica, lease) = (leader.replica, leader.lease)
        let at = ContinuousClock.now
        var record = FaultRecord(kind: .leader, target: replica.name, at: at)
        await replica.kill(holdDown: true)
        // Not cancelled with the injector: the last fault's takeover is measured too.
        let regained = Task.detached { await self.waitForLeadership(after: lease, since: at) }
        await pause(delay)
        do {
            try replica.start()
        } catch {
            record.note = "could not start it again: \(error)"
        }
        record.restartedAt = .now
        record.upAt = await regained.value
        return record
    }

    /// When a live replica renewed or took the Lease after the kill: its holder or renewTime changed (the killed
    /// replica renews nothing). Nil if not within a minute.
    private func waitForLeadership(after killed: Lease.Spec, since: ContinuousClock.Instant) async -> ContinuousClock.Instant? {
        let leases = client.resource(Lease.self, namespace: Installation.systemNamespace)
        while ContinuousClock.now - since < .seconds(60) {
            if let spec = try? await leases.get(Installation.leaderElectionLeaseName).spec,
               let holder = spec.holderIdentity, !holder.isEmpty,
               holder != killed.holderIdentity || spec.renewTime != killed.renewTime {
                return .now
            }
            await uncancellableSleep(.milliseconds(50))
        }
        return nil
    }

    private func killAPIServer(delay: Double) async -> FaultRecord {
        var record = FaultRecord(kind: .apiserver, target: cluster.apiServer.name, at: .now)
        await cluster.apiServer.kill(holdDown: true)
        await pause(delay)
        record.restartedAt = .now
        record.upAt = await cluster.restartAPIServer()
        if record.upAt == nil { record.note = "not accepting connections a minute after the restart" }
        return record
    }

    /// Sleeps, but returns at once when cancelled: the fault in progress then ends early.
    private func pause(_ seconds: Double) async {
        try? await Task.sleep(for: .seconds(seconds))
    }

    /// Seconds since the run started.
    func offset(_ instant: ContinuousClock.Instant) -> Double { (instant - started).seconds }
}
