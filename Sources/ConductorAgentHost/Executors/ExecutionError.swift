import ConductorAPI
import ConductorAgent

/// Why an executor failed an attempt; the description is the task's message and `failureReason` its reason.
public enum ExecutionError: ReasonedFailure, Sendable, Equatable, CustomStringConvertible {
    /// The program could not be started (not found, not executable).
    case couldNotStart(program: String, reason: String)
    /// The program exited with a non-zero status; the end of what it wrote on standard error.
    case exited(program: String, code: Int32, stderrTail: String)
    /// The program was ended by a signal it was not sent by the agent.
    case killedBySignal(program: String, signal: Int32, stderrTail: String)
    /// The attempt ran past its deadline: the program was stopped, or the request aborted.
    case deadlineExceeded(origin: String)
    /// Standard output, or the response, was above the cap: the result could not be stored.
    case resultTooLarge(what: String, limit: Int)
    /// The HTTP endpoint refused the task (4xx): final.
    case rejected(url: String, status: Int, body: String)
    /// The HTTP endpoint failed (5xx) or answered something that is not a JSON object: the attempt is retried.
    case endpointFailed(url: String, status: Int, body: String)
    /// The HTTP endpoint could not be reached: the attempt is retried.
    case unreachable(url: String, reason: String)
    /// An MCP tool answered with `isError`: final, with the tool's message.
    case toolFailed(tool: String, message: String)

    public var failureReason: Reason {
        switch self {
        case .resultTooLarge: .resultTooLarge
        case .rejected, .toolFailed: .rejected
        case .deadlineExceeded(let origin) where origin == ExecutionError.taskDeadline: .deadlineExceeded
        default: .executionFailed
        }
    }

    /// `deadlineExceeded`'s origin when it is the task's own deadline (final), rather than a timeout.
    static let taskDeadline = "the task's deadline"

    public var description: String {
        switch self {
        case .couldNotStart(let program, let reason):
            "could not start \(program): \(reason)"
        case .exited(let program, let code, let tail):
            "\(program) exited with status \(code)" + (tail.isEmpty ? "" : "; standard error ends with: \(tail)")
        case .killedBySignal(let program, let signal, let tail):
            "\(program) was killed by signal \(signal)" + (tail.isEmpty ? "" : "; standard error ends with: \(tail)")
        case .deadlineExceeded(let origin):
            "stopped at \(origin)"
        case .resultTooLarge(let what, let limit):
            "\(what) is above \(limit) bytes (\(limit / 1024) KiB), more than a result may hold: pass large data by reference (a URL) instead"
        case .rejected(let url, let status, let body):
            "\(url) refused the task with HTTP \(status)" + (body.isEmpty ? "" : ": \(body)")
        case .endpointFailed(let url, let status, let body):
            "\(url) answered HTTP \(status)" + (body.isEmpty ? "" : ": \(body)")
        case .unreachable(let url, let reason):
            "could not reach \(url): \(reason)"
        case .toolFailed(let tool, let message):
            "tool \(tool) reported an error" + (message.isEmpty ? "" : ": \(message)")
        }
    }
}
