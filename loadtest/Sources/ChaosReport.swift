import Foundation
import KubeJSON

/// What `loadtest chaos` prints: the run, each fault with its recovery, the recovery times by kind of fault, and
/// the invariants.
struct ChaosReport {
    struct FaultRow {
        var kind: FaultKind
        var target: String
        /// Seconds since the run started.
        var offset: Double
        /// Seconds from the fault to the restart or SIGCONT.
        var restartedAfter: Double?
        /// leader: seconds until a live replica renewed the Lease; apiserver: until it accepted connections again.
        var downtime: Double?
        /// agent, stall: the tasks the agent held at the fault.
        var held: Int
        var recovery: Double?
        var note: String?

        /// Whether there was something to recover (an agent that held nothing has nothing to hand back).
        var measured: Bool { kind == .leader || kind == .apiserver || held > 0 }
    }

    var tasks: Int
    var agents: Int
    var slots: Int
    var seed: UInt64
    var interval: Double
    var kinds: [FaultKind]
    var rate: Double
    var workMilliseconds: Int
    var elapsed: Duration
    var allFinal: Bool
    var completed: Int
    var failedByReason: [String: Int]
    var createToFinal: [Duration]
    var executionsStarted: Int
    var executionsDone: Int
    var tasksDoneMoreThanOnce: Int
    var ledgerMalformed: Int
    var createRetries: Int
    var faults: [FaultRow]
    var checks: [ChaosInvariants.Check]
    var unexpectedExits: [String]
    /// Requests the API server answered 429 since it last started; nil when its metrics could not be read.
    var requestsRefused: Int?
    var workDirectory: String

    var passed: Bool { checks.allSatisfy(\.passed) }

    struct KindSummary {
        var kind: FaultKind
        var count: Int
        var measured: Int
        var recovered: [Double]
    }

    var byKind: [KindSummary] {
        FaultKind.allCases.compactMap { kind -> KindSummary? in
            let rows = faults.filter { $0.kind == kind }
            guard !rows.isEmpty else { return nil }
            let measured = rows.filter(\.measured)
            return KindSummary(kind: kind, count: rows.count, measured: measured.count,
                               recovered: measured.compactMap(\.recovery).sorted())
        }
    }

    private static func percentile(_ sorted: [Double], _ p: Double) -> Double? {
        guard !sorted.isEmpty else { return nil }
        let rank = Int((p / 100 * Double(sorted.count)).rounded(.up)) - 1
        return sorted[min(max(rank, 0), sorted.count - 1)]
    }

    private static func seconds(_ value: Double?) -> String { value.map { String(format: "%.2f s", $0) } ?? "—" }

    func text() -> String {
        let failed = failedByReason.values.reduce(0, +)
        let failures = failedByReason.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
        var lines = [
            "loadtest chaos: \(tasks) tasks through 1 API server, \(ChaosCluster.replicas) controller replicas, \(agents) agents (\(slots) slots each); seed \(seed)",
            "  offered       " + (rate > 0 ? String(format: "%.0f tasks/s", rate) : "as fast as --max-in-flight allows") + ", \(workMilliseconds) ms of work each",
            kinds.isEmpty ? "  faults        none"
                : "  faults        every ~\(String(format: "%.0f", interval)) s of \(kinds.map(\.rawValue).joined(separator: ", ")): \(faults.count) injected",
            "  tasks         \(completed) completed, \(failed) failed\(failed > 0 ? " (\(failures))" : ""), "
                + (allFinal ? "all final" : "NOT all final") + String(format: " after %.1f s", elapsed.seconds),
            String(format: "  create→final  p50 %.2f s   p99 %.2f s   max %.2f s", nearestRank(createToFinal, 50).seconds,
                   nearestRank(createToFinal, 99).seconds, (createToFinal.last ?? .zero).seconds),
            "  executions    \(executionsStarted) started, \(executionsDone) ran to completion; \(tasksDoneMoreThanOnce) tasks ran to completion in more than one attempt"
                + (ledgerMalformed > 0 ? "; \(ledgerMalformed) unreadable ledger lines" : ""),
            "  creates       \(createRetries) sent again (the API server was down or answered an error)",
            "  processes     \(unexpectedExits.count) exited by themselves (restarted)",
            "  overload      \(requestsRefused.map(String.init) ?? "?") requests answered 429 by the API server (since it last started)",
        ]
        for exit in unexpectedExits.prefix(10) { lines.append("    \(exit)") }
        if !faults.isEmpty {
            lines += ["", "faults (time since the start)", "| time | kind | target | tasks held | back after | down / new leader after | recovery |",
                      "| ---: | --- | --- | ---: | ---: | ---: | ---: |"]
            for row in faults {
                let held = row.kind == .agent || row.kind == .stall ? "\(row.held)" : ""
                let recovery = row.measured ? Self.seconds(row.recovery) : "nothing held"
                lines.append("| +\(String(format: "%.1f", row.offset)) s | \(row.kind.rawValue) | \(row.target) | \(held) | \(Self.seconds(row.restartedAfter)) | "
                             + "\(row.downtime.map { String(format: "%.2f s", $0) } ?? "") | \(recovery)\(row.note.map { " (\($0))" } ?? "") |")
            }
            lines += ["", "recovery by kind of fault", "| kind | faults | with something to recover | recovered | p50 | max | measured as |",
                      "| --- | ---: | ---: | ---: | ---: | ---: | --- |"]
            for summary in byKind {
                lines.append("| \(summary.kind.rawValue) | \(summary.count) | \(summary.measured) | \(summary.recovered.count) | "
                             + "\(Self.seconds(Self.percentile(summary.recovered, 50))) | \(Self.seconds(summary.recovered.last)) | \(summary.kind.recoveryMeasure) |")
            }
        }
        lines += ["", "invariants"]
        for check in checks {
            lines.append("  \(check.passed ? "PASS" : "FAIL")  \(check.name)\(check.passed ? "" : " (\(check.violations))")")
            for example in check.examples { lines.append("          \(example)") }
        }
        lines.append(passed ? "all invariants hold" : "INVARIANTS VIOLATED: the processes' logs and the ledger are in \(workDirectory)")
        return lines.joined(separator: "\n")
    }

    var jsonText: String {
        var object: JSON = [:]
        func put(_ key: String, _ value: JSON) { object.set(path: [key], to: value) }
        put("passed", .bool(passed))
        put("tasks", .int(Int64(tasks)))
        put("agents", .int(Int64(agents)))
        put("seed", .string(String(seed)))
        put("seconds", .double(elapsed.seconds))
        put("allFinal", .bool(allFinal))
        put("completed", .int(Int64(completed)))
        put("failed", .object(JSONObject(uniqueKeysWithValues: failedByReason.map { ($0.key, JSON.int(Int64($0.value))) })))
        put("createToFinalP50Seconds", .double(nearestRank(createToFinal, 50).seconds))
        put("createToFinalP99Seconds", .double(nearestRank(createToFinal, 99).seconds))
        put("executionsStarted", .int(Int64(executionsStarted)))
        put("executionsDone", .int(Int64(executionsDone)))
        put("tasksDoneMoreThanOnce", .int(Int64(tasksDoneMoreThanOnce)))
        put("createRetries", .int(Int64(createRetries)))
        put("unexpectedExits", .array(unexpectedExits.map { JSON.string($0) }))
        put("requestsRefused", requestsRefused.map { JSON.int(Int64($0)) } ?? .null)
        put("faults", .array(faults.map(\.json)))
        var kinds: [JSON] = []
        for summary in byKind {
            var row: JSON = [:]
            row.set(path: ["kind"], to: .string(summary.kind.rawValue))
            row.set(path: ["faults"], to: .int(Int64(summary.count)))
            row.set(path: ["measured"], to: .int(Int64(summary.measured)))
            row.set(path: ["recovered"], to: .int(Int64(summary.recovered.count)))
            row.set(path: ["p50Seconds"], to: Self.percentile(summary.recovered, 50).map(JSON.double) ?? .null)
            row.set(path: ["maxSeconds"], to: summary.recovered.last.map(JSON.double) ?? .null)
            row.set(path: ["measure"], to: .string(summary.kind.recoveryMeasure))
            kinds.append(row)
        }
        put("recoveryByKind", .array(kinds))
        var checkRows: [JSON] = []
        for check in checks {
            var row: JSON = [:]
            row.set(path: ["name"], to: .string(check.name))
            row.set(path: ["passed"], to: .bool(check.passed))
            row.set(path: ["violations"], to: .int(Int64(check.violations)))
            row.set(path: ["examples"], to: .array(check.examples.map { JSON.string($0) }))
            checkRows.append(row)
        }
        put("invariants", .array(checkRows))
        put("workDirectory", .string(workDirectory))
        return object.text
    }
}

extension ChaosReport.FaultRow {
    var json: JSON {
        var row: JSON = [:]
        row.set(path: ["kind"], to: .string(kind.rawValue))
        row.set(path: ["target"], to: .string(target))
        row.set(path: ["offsetSeconds"], to: .double(offset))
        row.set(path: ["restartedAfterSeconds"], to: restartedAfter.map(JSON.double) ?? .null)
        row.set(path: ["downtimeSeconds"], to: downtime.map(JSON.double) ?? .null)
        row.set(path: ["tasksHeld"], to: .int(Int64(held)))
        row.set(path: ["recoverySeconds"], to: recovery.map(JSON.double) ?? .null)
        row.set(path: ["note"], to: note.map(JSON.string) ?? .null)
        return row
    }
}
