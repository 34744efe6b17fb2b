import ConductorAPI
import KubeJSON

/// A call's wait for a task, counted among its caller's waiting calls (`InFlightCalls`, which can cancel it) from
/// when it is made until it ends. It must be run once (`whenEnded`, or through `reply`), or the call stays counted.
struct RegisteredWait: Sendable {
    let task: TaskResource
    let request: String
    let limit: Duration?
    let progress: ProgressTarget?
    let cancellation: Signal
    /// Fires when the client stops reading the answer's stream: the wait ends, and the task goes on.
    let readerLeft: Signal?
    let calls: InFlightCalls
    let waiter: TaskWaiter

    /// Registers `deliver`, called once with the outcome after the last progress notification; nothing parks
    /// meanwhile.
    func whenEnded(deliver: @escaping @Sendable (WaitOutcome) -> Void) async {
        await waiter.whenEnded(for: task, limit: limit, progress: progress, cancellation: cancellation,
                               readerLeft: readerLeft) { [calls, request, cancellation] outcome in
            calls.unregister(request, signal: cancellation)
            deliver(outcome)
        }
    }

    /// The call's reply, answered by `answer` from the outcome, with no task parked while it waits (a held HTTP
    /// connection then costs its connection, this wait's registrations and its progress relay).
    func reply(_ answer: @escaping @Sendable (WaitOutcome) async -> JSON?) -> Reply {
        .whenReady { deliver in
            await whenEnded { outcome in
                // A task of its own for the answer, which ends once it is made: a cancelled call first asks its
                // task to cancel.
                Task { deliver(await answer(outcome)) }
            }
        }
    }
}
