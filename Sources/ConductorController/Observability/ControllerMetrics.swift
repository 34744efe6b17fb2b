import ConductorAPI
import Metrics

/// What the controller reports through swift-metrics (`conductor run` exports them for Prometheus on
/// /metrics). Counters are counted by the replica that did the work, so a sum over replicas is the cluster's.
enum ControllerMetrics {
    static func recordAssignment(attempt: Int, schedulingLatency: Duration?) {
        Counter(label: "conductor_assignments_total").increment()
        if attempt > 1 { Counter(label: "conductor_reassignments_total").increment() }
        if let schedulingLatency { Timer(label: "conductor_scheduling_latency_seconds").record(duration: schedulingLatency) }
    }

    static func recordAssignmentConflict() {
        Counter(label: "conductor_assignment_conflicts_total").increment()
    }

    static func recordFinishedTaskDeleted() {
        Counter(label: "conductor_finished_tasks_deleted_total").increment()
    }

    static func recordRetry() {
        Counter(label: "conductor_retries_total").increment()
    }

    static func recordAgentLossRequeue() {
        Counter(label: "conductor_agent_loss_requeues_total").increment()
    }

    /// A task actor's work threw (a status write failed) and the supervisor restarted it.
    static func recordActorRestart() {
        Counter(label: "conductor_actor_restarts_total").increment()
    }

    static func recordStatusWriteError(writer: String) {
        Counter(label: "conductor_status_write_errors_total", dimensions: [("writer", writer)]).increment()
    }

    /// Inputs waiting in the assignment queue, and tasks no agent can take now (waiting for one to gain room).
    static func recordQueue(depth: Int, waitingTasks: Int) {
        Gauge(label: "conductor_assignment_queue_depth").record(depth)
        Gauge(label: "conductor_unschedulable_tasks").record(waitingTasks)
    }

    /// The load of one capability, for autoscalers (see `CapabilityLoad`).
    static func recordCapability(_ capability: String, _ figures: CapabilityLoad.Figures) {
        let dimensions = [("capability", capability)]
        Gauge(label: "conductor_capability_tasks_waiting", dimensions: dimensions).record(figures.waiting)
        Gauge(label: "conductor_capability_tasks_running", dimensions: dimensions).record(figures.running)
        Gauge(label: "conductor_capability_free_slots", dimensions: dimensions).record(figures.freeSlots)
    }

    static func recordLeading(_ leading: Bool) {
        Gauge(label: "conductor_leader").record(leading ? 1 : 0)
    }

    static func recordTasks(phase: TaskPhase, count: Int) {
        Gauge(label: "conductor_tasks", dimensions: [("phase", phase.rawValue)]).record(count)
    }

    static func recordAgents(phase: AgentPhase, count: Int) {
        Gauge(label: "conductor_agents", dimensions: [("phase", phase.rawValue)]).record(count)
    }
}
