import Foundation

/// The agents' own account of the work, from the ledger the task script appends to (`ChaosCluster.taskScript`):
/// `S task attempt agent pid` as an execution starts, `D task attempt agent pid` once its work is done. Each line
/// is one write of under PIPE_BUF bytes with O_APPEND, so lines from concurrent executions do not mix.
struct ChaosLedger {
    struct Execution: Hashable {
        var task: String
        var attempt: Int
        var agent: String
    }

    /// Executions that started, by (task, attempt, agent), with how many times.
    private(set) var started: [Execution: Int] = [:]
    /// Executions whose work was done (the script ran to its end), by (task, attempt, agent), with how many times.
    private(set) var done: [Execution: Int] = [:]
    /// Lines that did not parse (a write cut by a crash of the machine, say).
    private(set) var malformed = 0

    init(path: String) throws {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: " ")
            guard fields.count == 5, let attempt = Int(fields[2]) else {
                malformed += 1
                continue
            }
            let execution = Execution(task: String(fields[1]), attempt: attempt, agent: String(fields[3]))
            switch fields[0] {
            case "S": started[execution, default: 0] += 1
            case "D": done[execution, default: 0] += 1
            default: malformed += 1
            }
        }
    }

    var startedCount: Int { started.values.reduce(0, +) }
    var doneCount: Int { done.values.reduce(0, +) }

    /// Done executions by task and attempt: the agents that ran each attempt to its end, with how many times each.
    var doneByAttempt: [String: [Int: [String: Int]]] {
        var byTask: [String: [Int: [String: Int]]] = [:]
        for (execution, count) in done {
            byTask[execution.task, default: [:]][execution.attempt, default: [:]][execution.agent, default: 0] += count
        }
        return byTask
    }
}
