import ConductorAPI
import Metrics

/// The agent's metrics, for Prometheus through swift-metrics: tasks taken, completed, failed by reason,
/// cancelled, running, and how long attempts ran, per capability.
struct AgentMetrics: Sendable {
    static let taken = "conductor_agent_tasks_taken_total"
    static let completed = "conductor_agent_tasks_completed_total"
    static let failed = "conductor_agent_tasks_failed_total"
    static let cancelled = "conductor_agent_tasks_cancelled_total"
    static let running = "conductor_agent_tasks_running"
    static let duration = "conductor_agent_task_duration_seconds"
    /// Restarts of a downstream MCP server (mcp executor), by server.
    static let executorRestarts = "conductor_agent_executor_restarts_total"

    private let runningGauge = Meter(label: running)

    func started(_ capability: String) {
        Counter(label: Self.taken, dimensions: [("capability", capability)]).increment()
        runningGauge.increment()
    }

    /// An attempt ended: `reason` nil for completed; `cancelled` when its work was stopped.
    func ended(_ capability: String, after duration: Duration, failure reason: Reason?, cancelled: Bool) {
        runningGauge.decrement()
        if cancelled {
            Counter(label: Self.cancelled, dimensions: [("capability", capability)]).increment()
        } else if let reason {
            Counter(label: Self.failed, dimensions: [("capability", capability), ("reason", reason.rawValue)]).increment()
        } else {
            Counter(label: Self.completed, dimensions: [("capability", capability)]).increment()
        }
        let nanoseconds = duration.components.seconds * 1_000_000_000 + duration.components.attoseconds / 1_000_000_000
        Timer(label: Self.duration, dimensions: [("capability", capability)], preferredDisplayUnit: .seconds).recordNanoseconds(nanoseconds)
    }
}
