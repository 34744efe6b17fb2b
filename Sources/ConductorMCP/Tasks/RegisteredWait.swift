import ConductorAPI
import KubeJSON

/// A call's wait for a task, counted among its caller's waiting calls (`InFlightCalls`, which can cancel it) from
/// when it is made until it ends. It must be run once, parked (`callAsFunction`) or as a callback
/// (`whenEnded`), or the call stays counted.
struct RegisteredWait: Sendable {
    let task: TaskResource
    let request: String
    let limit: Duration?
    let progress: ProgressTarget?
    let cancellation: Signal
    let calls: InFlightCalls
    let waiter: TaskWaiter

    /// Parks the calling task until the wait ends, relaying progress if the call asked for it.
    func callAsFunction() async -> WaitOutcome {
        defer { calls.unregister(request, signal: cancellation) }
        return await waiter.wait(for: task, limit: limit, progress: progress, cancellation: cancellation)
    }

    /// Registers `deliver`, called once with the outcome; nothing parks meanwhile. Only for a call that did not
    /// ask for progress: relaying it needs a task (`callAsFunction`).
    func whenEnded(deliver: @escaping @Sendable (WaitOutcome) -> Void) async {
        precondition(progress == nil, "a wait that relays progress parks a task: callAsFunction()")
        await waiter.whenEnded(for: task, limit: limit, cancellation: cancellation) { [calls, request, cancellation] outcome in
            calls.unregister(request, signal: cancellation)
            deliver(outcome)
        }
    }

    /// The call's reply, answered by `answer` from the outcome: without a parked task when the call relays no
    /// progress (a held HTTP connection then costs its connection and this wait's registrations).
    func reply(_ answer: @escaping @Sendable (WaitOutcome) async -> JSON?) -> Reply {
        guard progress == nil else { return .later { await answer(await self()) } }
        return .whenReady { deliver in
            await whenEnded { outcome in
                // A task of its own for the answer, which ends once it is made: a cancelled call first asks its
                // task to cancel.
                Task { deliver(await answer(outcome)) }
            }
        }
    }
}
