import ConductorAPI
import KubeClient
import KubeJSON

/// What `loadtest chaos` reads of a Task: the phase and what the invariants check (the attempt, the budgets spent,
/// the agent and its result). Decoding only this keeps the harness's CPU for the system under test.
struct ChaosTaskView: KubeResource {
    static let resource = ResourceDescriptor.tasks

    struct Status: Codable, Sendable {
        var phase: String?
        var reason: String?
        var message: String?
        var assignedAgent: String?
        var attempt: Int?
        var retries: Int?
        var agentLossRetries: Int?
        var result: JSON?
    }

    var metadata: ObjectMeta
    var status: Status?

    var phase: String { status?.phase ?? TaskPhase.pending.rawValue }
    var attempt: Int { status?.attempt ?? 0 }

    /// Completed, or Failed with a reason that is never retried (`TaskStatus.isFinal`).
    var isFinal: Bool {
        switch phase {
        case TaskPhase.completed.rawValue: return true
        case TaskPhase.failed.rawValue: return status?.reason.map { Reason.finalFailures.contains(Reason(rawValue: $0)) } ?? false
        default: return false
        }
    }

    /// Whether it holds a slot of its agent (Assigned or Running).
    var holdsAgent: Bool { phase == TaskPhase.assigned.rawValue || phase == TaskPhase.running.rawValue }

    /// What must not change once the task is final.
    var finalSignature: String {
        "\(phase) \(status?.reason ?? "-") attempt \(attempt) agent \(status?.assignedAgent ?? "-") result \(status?.result?.text ?? "-")"
    }
}
