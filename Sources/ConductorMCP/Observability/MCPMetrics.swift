import Metrics

/// What the MCP front end reports through swift-metrics (`conductor run` and `conductor dev` export them for
/// Prometheus on the health port's /metrics, beside the controller's). Figures are the replica's own.
///
/// The gauges are made once by their owners and set under the owner's lock, so that the last value set is the
/// count as it stands (two threads setting values computed outside it could leave a stale one until the next change).
/// Every metric is made after `MetricsSystem.bootstrap` (at first use): made before, it would count nowhere.
///
/// A "waiting call" is any request that waits for a task here: a tool call, `conductor_wait`, `tasks/result`, or
/// a resumed stream.
public enum MCPMetrics {
    static let waitDurationLabel = "conductor_mcp_call_wait_seconds"
    private static let waitDurations = Timer(label: waitDurationLabel)
    private static let waitsEnded = Dictionary(uniqueKeysWithValues: WaitOutcome.metricValues.map { outcome in
        (outcome, Counter(label: "conductor_mcp_call_waits_total", dimensions: [("outcome", outcome)]))
    })
    private static let callerLimitReached = Counter(label: "conductor_mcp_calls_over_caller_limit_total")

    /// Histogram buckets by metric label, for the Prometheus factory: a call waits from a quick tool's milliseconds to
    /// its limit (`--mcp-max-call-wait`), so its buckets reach further than the controller's.
    public static let durationHistogramBuckets: [String: [Duration]] = [
        waitDurationLabel: [
            .milliseconds(10), .milliseconds(50), .milliseconds(250), .seconds(1), .seconds(5), .seconds(15), .seconds(60),
            .seconds(300), .seconds(900), .seconds(3600),
        ],
    ]

    /// Requests being routed, calling their tool or writing their answer, and those waiting their turn
    /// (`RequestAdmission`).
    static func admissionGauges() -> (inProgress: Gauge, queued: Gauge) {
        (Gauge(label: "conductor_mcp_requests_in_progress"), Gauge(label: "conductor_mcp_requests_queued"))
    }

    /// Open HTTP connections (`OpenConnections`).
    static func openConnectionsGauge() -> Gauge {
        Gauge(label: "conductor_mcp_open_connections")
    }

    /// Calls waiting for their task on this replica (`InFlightCalls`).
    static func waitingCallsGauge() -> Gauge {
        Gauge(label: "conductor_mcp_waiting_calls")
    }

    /// A call was refused a wait because its caller already has `--mcp-max-calls-per-caller` waiting here (a tool
    /// call's task still runs).
    static func recordCallerLimitReached() {
        callerLimitReached.increment()
    }

    /// A call's wait ended, how and after how long.
    static func recordWaitEnded(_ outcome: WaitOutcome, after duration: Duration) {
        waitsEnded[outcome.metricValue]?.increment()
        waitDurations.record(duration: duration)
    }
}

extension WaitOutcome {
    /// Every value of `metricValue`.
    static let metricValues = ["final", "timed_out", "cancelled", "stopping", "lost", "abandoned"]

    /// The outcome as the `outcome` dimension names it: one of six, whatever the task.
    var metricValue: String {
        switch self {
        case .final: "final"
        case .timedOut: "timed_out"
        case .cancelled: "cancelled"
        case .stopping: "stopping"
        case .lost: "lost"
        case .abandoned: "abandoned"
        }
    }
}
