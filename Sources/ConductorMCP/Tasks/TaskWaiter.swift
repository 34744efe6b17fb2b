import ConductorAPI
import ConductorController
import KubeClient
import KubeJSON
import Synchronization

/// How a wait for a task ended.
enum WaitOutcome: Sendable {
    /// Completed, or Failed for good.
    case final(TaskResource)
    /// The wait's limit passed first; the task goes on (as it was last seen).
    case timedOut(TaskResource)
    /// The client cancelled the call (`notifications/cancelled`).
    case cancelled
    /// The front end is shutting down; the task goes on.
    case stopping(TaskResource)
    /// The task was deleted, or is unknown to this replica.
    case lost(String)
    /// The client stopped reading the call's stream (its connection closed); no answer is due, the task goes on.
    case abandoned
}

/// Progress notifications for one call: the client's token and the call's own stream.
struct ProgressTarget: Sendable {
    var token: JSON
    var sink: NotificationSink
}

/// Waits for a task on its actor (`Supervisor.whenTerminal`: a callback, woken by the watch event that makes the
/// task final, no polling; no Swift task parks meanwhile), racing the call's limit,
/// its cancellation, its client's leaving and the front end's shutdown; meanwhile relays the task's progress and
/// phase changes, and at least every `heartbeat`, to a caller that asked for progress (`ProgressRelay`).
struct TaskWaiter: Sendable {
    let supervisor: any TerminalAwaiting
    let cache: Informer<TaskResource>
    let hub: TaskEventHub
    let stopping: Signal
    /// The calls' limits, on one task for all of them.
    let timers: TimerQueue
    /// Clients reset their timeouts on progress; 15 s is well under the shortest common limit (60 s).
    let heartbeat: Duration

    /// Registers the wait: nothing parks, `deliver` is called once with the outcome, from whichever ends the wait,
    /// after the last progress notification (none may follow the answer). Returns once the wait is registered.
    func whenEnded(for created: TaskResource, limit: Duration?, progress: ProgressTarget?, cancellation: Signal?,
                   readerLeft: Signal?, deliver: @escaping @Sendable (WaitOutcome) -> Void) async {
        let began = ContinuousClock.now
        let race = begin(for: created, limit: limit, cancellation: cancellation, readerLeft: readerLeft)
        let relay = progress.map { startRelay(of: created, to: $0) }
        await supervisor.whenTerminal(created: created, endedBy: race.early) { result in
            relay?.stop()
            let outcome = race.finish(result)
            MCPMetrics.recordWaitEnded(outcome, after: began.duration(to: .now))
            deliver(outcome)
        }
    }

    private func startRelay(of created: TaskResource, to target: ProgressTarget) -> ProgressRelay {
        let key = created.key
        return ProgressRelay(of: key, latest: { [cache] in cache.get(key) ?? created }, to: target, hub: hub, timers: timers,
                             heartbeat: heartbeat)
    }

    /// Registers the wait's early ends: the limit, the client's cancellation, its leaving and the shutdown each end
    /// it after recording why (the first reason wins). Registered actions rather than a task apiece for them: a
    /// waiting call costs memory (Tests/e2e/measure_mcp_waits.py), and a task costs some kilobytes.
    private func begin(for created: TaskResource, limit: Duration?, cancellation: Signal?, readerLeft: Signal?) -> WaitRace {
        let key = created.key
        let latest: @Sendable () -> TaskResource = { [cache] in cache.get(key) ?? created }
        let reason = FirstReason()
        let early = EarlyWaitEnd()
        let end: @Sendable (WaitOutcome) -> Void = { outcome in
            if reason.record(outcome) { early.end() }
        }
        return WaitRace(key: key, early: early, reason: reason, timers: timers, stopping: stopping, cancellation: cancellation,
                        cancelled: cancellation?.onFire { end(.cancelled) },
                        readerLeft: readerLeft, left: readerLeft?.onFire { end(.abandoned) },
                        stopped: stopping.onFire { end(.stopping(latest())) },
                        timer: limit.map { limit in timers.schedule(after: limit) { end(.timedOut(latest())) } })
    }
}

/// One wait's early ends, registered by `TaskWaiter.begin`, and how the wait ended.
private struct WaitRace: Sendable {
    let key: String
    let early: EarlyWaitEnd
    let reason: FirstReason
    let timers: TimerQueue
    let stopping: Signal
    let cancellation: Signal?
    let cancelled: UInt64?
    let readerLeft: Signal?
    let left: UInt64?
    let stopped: UInt64
    let timer: TimerQueue.Entry?

    /// Removes the early ends and says how the wait ended, given what the task's wait returned.
    func finish(_ result: Result<TaskResource, any Error>) -> WaitOutcome {
        if let timer { timers.cancel(timer) }
        if let cancelled { cancellation?.remove(cancelled) }
        if let left { readerLeft?.remove(left) }
        stopping.remove(stopped)
        // A task that became final as the limit passed is answered as final.
        if case .success(let task) = result { return .final(task) }
        if let recorded = reason.outcome { return recorded }
        switch result {
        case .success(let task): return .final(task)
        case .failure(let error as TaskAwaitError): return .lost("\(error)")
        case .failure(let error): return .lost("the wait for \(key) ended: \(error)")
        }
    }
}

/// Why a wait ended early: the first of the limit, the client's cancellation, its leaving and the shutdown to happen.
private final class FirstReason: Sendable {
    private let recorded = Mutex<WaitOutcome?>(nil)

    /// True when `outcome` is the first.
    func record(_ outcome: WaitOutcome) -> Bool {
        recorded.withLock { recorded in
            guard recorded == nil else { return false }
            recorded = outcome
            return true
        }
    }

    var outcome: WaitOutcome? { recorded.withLock { $0 } }
}
