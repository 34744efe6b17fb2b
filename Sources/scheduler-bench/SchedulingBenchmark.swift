import ConductorScheduler

/// Schedules a stream of tasks on a synthetic cluster, in batches, releasing the oldest assignments as if they
/// completed so that the cluster stays busy but not full, and times each call of `schedule(batch:now:)`.
struct SchedulingBenchmark {
    let agentCount: Int
    let taskCount: Int
    let batchSize: Int
    let seed: UInt64
    /// The share of the Ready agents' slots that the benchmark's own assignments may hold before the oldest are
    /// released; the agents' preloaded tasks come on top.
    let busyShare = 0.5

    struct Report {
        var registration: Statistics
        var decision: Statistics
        var decisionCPU: Statistics
        var reoffer: Statistics
        var heartbeat: Statistics
        var assigned = 0
        var refused: [UnschedulableReason: Int] = [:]
        var reoffered = 0
        var waitingAtEnd = 0
    }

    func run() -> Report {
        let clock = ContinuousClock()
        var workload = Workload(seed: seed)
        var scheduler = Scheduler()

        var snapshots: [AgentSnapshot] = []
        var registrationSamples: [Double] = []
        for index in 0..<agentCount {
            let snapshot = workload.agent(index)
            snapshots.append(snapshot)
            registrationSamples.append(clock.measure { scheduler.updateAgent(snapshot) }.microseconds)
        }
        let readySlots = snapshots.filter { $0.isReady && !$0.isDraining }.reduce(0) { $0 + $1.maxConcurrentTasks }
        let maxOutstanding = Int(Double(readySlots) * busyShare)

        var decisionSamples: [Double] = []
        var decisionCPUSamples: [Double] = []
        var reofferSamples: [Double] = []
        var heartbeatSamples: [Double] = []
        var report = Report(
            registration: Statistics(microseconds: registrationSamples), decision: Statistics(microseconds: []),
            decisionCPU: Statistics(microseconds: []),
            reoffer: Statistics(microseconds: []), heartbeat: Statistics(microseconds: []))
        var outstanding: [TaskID] = []
        var oldestOutstanding = 0
        var now = SchedulingInstant(millisecondsSinceEpoch: 0)
        var produced = 0
        while produced < taskCount {
            var reoffered: [TaskRequest] = []
            if scheduler.mayHaveTasksToReoffer {
                reofferSamples.append(clock.measure { reoffered = scheduler.takeTasksToReoffer(now: now) }.microseconds)
            }
            report.reoffered += reoffered.count
            var batch = reoffered
            for _ in 0..<min(batchSize, taskCount - produced) {
                batch.append(workload.task(produced, createdAt: now))
                produced += 1
            }
            var decisions: [SchedulingDecision] = []
            let elapsed = ThreadCPUTime.measure { decisions = scheduler.schedule(batch: batch, now: now) }
            decisionSamples.append(elapsed.wall / Double(batch.count))
            decisionCPUSamples.append(elapsed.cpu / Double(batch.count))

            for decision in decisions {
                switch decision {
                case .assign(let task, _):
                    scheduler.confirm(task)
                    outstanding.append(task)
                    report.assigned += 1
                case .unschedulable(_, let reason):
                    report.refused[reason, default: 0] += 1
                }
            }
            while outstanding.count - oldestOutstanding > maxOutstanding {
                scheduler.release(outstanding[oldestOutstanding])
                oldestOutstanding += 1
            }
            // A heartbeat: the watch delivers an agent's unchanged view again.
            let beating = snapshots[Int.random(in: 0..<snapshots.count, using: &workload.random)]
            heartbeatSamples.append(clock.measure { scheduler.updateAgent(beating) }.microseconds)
            now = SchedulingInstant(millisecondsSinceEpoch: now.millisecondsSinceEpoch + 5)
        }
        report.decision = Statistics(microseconds: decisionSamples)
        report.decisionCPU = Statistics(microseconds: decisionCPUSamples)
        report.reoffer = Statistics(microseconds: reofferSamples)
        report.heartbeat = Statistics(microseconds: heartbeatSamples)
        report.waitingAtEnd = scheduler.waitingTaskCount
        return report
    }
}
