import ConductorAPI

/// An error a handler throws to fail an attempt with a reason of its own rather than
/// `Reason.executionFailed`. A reason in `Reason.finalFailures` (such as `resultTooLarge` or `rejected`) ends
/// the task; any other is a failed attempt that the controller retries while the task's retry policy allows.
public protocol ReasonedFailure: Error {
    /// The task's `status.reason`.
    var failureReason: Reason { get }
}
