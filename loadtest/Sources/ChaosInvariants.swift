import ConductorAPI
import KubeJSON

/// What must hold at the end of a chaos run, checked on the Tasks as listed at the end, the agents' ledger and what
/// the watch saw during the run.
struct ChaosInvariants {
    struct Check {
        var name: String
        var violations: Int
        /// A few of them, for people.
        var examples: [String]
        var passed: Bool { violations == 0 }
    }

    /// The reasons a task may end Failed with under chaos: its budgets spent. Any other (DeadlineExceeded with no
    /// deadline, Rejected, ...) is a bug.
    static let allowedFailures: Set<String> = [Reason.retriesExhausted.rawValue, Reason.agentLossRetriesExhausted.rawValue]

    let expected: [String]
    let tasks: [ChaosTaskView]
    let ledger: ChaosLedger
    let changedAfterFinal: [String]
    let maxRetries: Int
    let maxAgentLossRetries: Int

    var completed: Int { tasks.filter { $0.phase == TaskPhase.completed.rawValue }.count }
    var failedByReason: [String: Int] {
        var counts: [String: Int] = [:]
        for task in tasks where task.phase == TaskPhase.failed.rawValue && task.isFinal { counts[task.status?.reason ?? "", default: 0] += 1 }
        return counts
    }

    /// Tasks whose work ran to its end in more than one attempt: at-least-once execution under faults, allowed,
    /// but worth knowing.
    var tasksDoneMoreThanOnce: Int { ledger.doneByAttempt.values.filter { $0.count > 1 }.count }

    func checks() -> [Check] {
        let byName = Dictionary(tasks.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        let doneByAttempt = ledger.doneByAttempt
        var checks: [Check] = []
        func check(_ name: String, _ failures: [String]) {
            checks.append(Check(name: name, violations: failures.count, examples: Array(failures.prefix(5))))
        }

        let missing = expected.filter { byName[$0] == nil }
        check("every task exists at the end", missing.map { "\($0): not found" })
        check("every task reached a final phase (Completed, or Failed for good)",
              tasks.filter { !$0.isFinal }.map { "\($0.name): \($0.phase) \($0.status?.reason ?? "") attempt \($0.attempt)" })
        check("failed only with an allowed reason (\(Self.allowedFailures.sorted().joined(separator: ", ")))",
              tasks.filter { $0.phase == TaskPhase.failed.rawValue && $0.isFinal && !Self.allowedFailures.contains($0.status?.reason ?? "") }
                  .map { "\($0.name): \($0.status?.reason ?? "no reason"): \($0.status?.message ?? "")" })
        let failed = failedByReason.values.reduce(0, +)
        check("completed + failed == tasks", completed + failed == expected.count ? []
              : ["\(completed) completed + \(failed) failed != \(expected.count) tasks"])
        check("retries within budget (status.retries ≤ \(maxRetries), status.agentLossRetries ≤ \(maxAgentLossRetries))",
              tasks.filter { ($0.status?.retries ?? 0) > maxRetries || ($0.status?.agentLossRetries ?? 0) > maxAgentLossRetries }
                  .map { "\($0.name): retries \($0.status?.retries ?? 0), agentLossRetries \($0.status?.agentLossRetries ?? 0)" })
        check("every assignment accounted for (attempt ≤ 1 + retries + agentLossRetries)",
              tasks.filter { $0.attempt > 1 + ($0.status?.retries ?? 0) + ($0.status?.agentLossRetries ?? 0) }
                  .map { "\($0.name): attempt \($0.attempt), retries \($0.status?.retries ?? 0), agentLossRetries \($0.status?.agentLossRetries ?? 0)" })
        check("each completed task's result is from its last attempt, by its agent, and that execution ran",
              tasks.filter { $0.phase == TaskPhase.completed.rawValue }.compactMap { task -> String? in
                  let result = task.status?.result
                  let agent = task.status?.assignedAgent ?? ""
                  let reportedAttempt = result?["attempt"]?.int.map(Int.init)
                  let reportedAgent = result?["agent"]?.string
                  if reportedAttempt != task.attempt || reportedAgent != agent {
                      return "\(task.name): status attempt \(task.attempt) by \(agent), result from attempt \(reportedAttempt.map(String.init) ?? "?") by \(reportedAgent ?? "?")"
                  }
                  if (doneByAttempt[task.name]?[task.attempt]?[agent] ?? 0) == 0 {
                      return "\(task.name): completed by \(agent) in attempt \(task.attempt), which the ledger has no finished execution of"
                  }
                  return nil
              })
        var twice: [String] = []
        var neverAssigned: [String] = []
        for (task, attempts) in doneByAttempt.sorted(by: { $0.key < $1.key }) {
            for (attempt, agents) in attempts.sorted(by: { $0.key < $1.key }) {
                let runs = agents.values.reduce(0, +)
                if runs > 1 {
                    twice.append("\(task) attempt \(attempt): \(agents.map { "\($0.key) ×\($0.value)" }.sorted().joined(separator: ", "))")
                }
                if let last = byName[task]?.attempt, attempt > last {
                    neverAssigned.append("\(task): attempt \(attempt) ran, the task's last attempt is \(last)")
                }
            }
        }
        check("no attempt ran to completion twice (by two agents, or twice by one)", twice)
        check("no execution of an attempt that was never assigned", neverAssigned)
        check("no task changed once final (no completion reported twice)", changedAfterFinal)
        return checks
    }
}
