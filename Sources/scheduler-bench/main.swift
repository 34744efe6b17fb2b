import ConductorScheduler

// scheduler-bench [--agents N] [--tasks N] [--batch N] [--seed N] [--queue-items N]
// Build with `swift build -c release`; figures from a debug build mean nothing.

func option(_ name: String, default value: Int) -> Int {
    let arguments = CommandLine.arguments
    guard let flag = arguments.firstIndex(of: name), flag + 1 < arguments.count,
          let parsed = Int(arguments[flag + 1]) else { return value }
    return parsed
}

let agents = option("--agents", default: 10_000)
let tasks = option("--tasks", default: 100_000)
let batchSize = option("--batch", default: 64)
let seed = UInt64(option("--seed", default: 42))
let queueItems = option("--queue-items", default: 2_000_000)

print("scheduler-bench: \(agents) agents, \(Workload.capabilities.count) capabilities, \(Workload.tags.count) tags, seed \(seed)")
print("Wall-clock figures include time the thread spent descheduled; thread CPU figures do not (on a shared machine")
print("they are the fairer measure of the work, though caches and clock still suffer from neighbours).")

for (label, size, count) in [("batches of \(batchSize)", batchSize, tasks), ("one task at a time", 1, tasks / 5)] {
    let report = SchedulingBenchmark(agentCount: agents, taskCount: count, batchSize: size, seed: seed).run()
    print("\n\(count) tasks, \(label):")
    print("  decision, per task, wall clock:  \(report.decision.summary)")
    print("  decision, per task, thread CPU:  \(report.decisionCPU.summary)")
    if report.reoffer.count > 0 { print("  re-offer, per call:              \(report.reoffer.summary)") }
    print("  heartbeat (same view again):     \(report.heartbeat.summary)")
    print("  agent registration:              \(report.registration.summary)")
    let refused = UnschedulableReason.allCases.compactMap { reason in
        report.refused[reason].map { "\(reason.rawValue) \($0)" }
    }
    print("  assigned \(report.assigned), re-offered \(report.reoffered), waiting at the end \(report.waitingAtEnd)")
    print("  refused: \(refused.isEmpty ? "none" : refused.joined(separator: ", "))")
}

print("\nassignment queue, \(queueItems) elements, one consumer draining batches of 64:")
for producers in [1, 2, 4, 8] {
    let perSecond = await QueueBenchmark(
        producers: producers, elementsPerProducer: queueItems / producers, makeElement: { $0 }
    ).run()
    print("  \(producers) producer(s), Int elements:         \(format(perSecond / 1e6)) M elements/s")
}
let sample = Workload(seed: seed).taskSample()
let perSecond = await QueueBenchmark(
    producers: 4, elementsPerProducer: queueItems / 4, makeElement: { _ in sample }
).run()
print("  4 producer(s), TaskRequest elements: \(format(perSecond / 1e6)) M elements/s")
