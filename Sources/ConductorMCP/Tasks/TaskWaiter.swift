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
}

/// Progress notifications for one call: the client's token and the call's own stream.
struct ProgressTarget: Sendable {
    var token: JSON
    var sink: NotificationSink
}

/// Waits for a task on its actor (`Supervisor.awaitTerminal`: parked on a continuation, or `whenTerminal`: a
/// callback; either is woken by the watch event that makes the task final, no polling), racing the call's limit,
/// its cancellation and the front end's shutdown; meanwhile relays the task's progress and phase changes, and at
/// least every `heartbeat`, to a caller that asked for progress.
struct TaskWaiter: Sendable {
    let supervisor: any TerminalAwaiting
    let cache: Informer<TaskResource>
    let hub: TaskEventHub
    let stopping: Signal
    /// The calls' limits, on one task for all of them.
    let timers: TimerQueue
    /// Clients reset their timeouts on progress; 15 s is well under the shortest common limit (60 s).
    let heartbeat: Duration

    func wait(for created: TaskResource, limit: Duration?, progress: ProgressTarget?, cancellation: Signal?) async -> WaitOutcome {
        // The call's own task parks on the actor.
        let race = begin(for: created, limit: limit, cancellation: cancellation)
        let relay = progress.map { target in Task { await relayProgress(of: created, to: target) } }
        let result: Result<TaskResource, any Error>
        do {
            result = .success(try await supervisor.awaitTerminal(created: created, endedBy: race.early))
        } catch {
            result = .failure(error)
        }
        relay?.cancel()
        // No progress may follow the answer: the relay has stopped sending when this returns.
        await relay?.value
        return race.finish(result)
    }

    /// Like `wait` without progress, but nothing parks: `deliver` is called once with the outcome, from
    /// whichever ends the wait. Returns once the wait is registered.
    func whenEnded(for created: TaskResource, limit: Duration?, cancellation: Signal?,
                   deliver: @escaping @Sendable (WaitOutcome) -> Void) async {
        let race = begin(for: created, limit: limit, cancellation: cancellation)
        await supervisor.whenTerminal(created: created, endedBy: race.early) { result in deliver(race.finish(result)) }
    }

    /// Registers the wait's early ends: the limit, the client's cancellation and the shutdown each end it after
    /// recording why (the first reason wins). Registered actions rather than a task apiece for them: a waiting
    /// call costs memory (Tests/e2e/measure_mcp_waits.py), and a task costs some kilobytes.
    private func begin(for created: TaskResource, limit: Duration?, cancellation: Signal?) -> WaitRace {
        let key = created.key
        let latest: @Sendable () -> TaskResource = { [cache] in cache.get(key) ?? created }
        let reason = FirstReason()
        let early = EarlyWaitEnd()
        let end: @Sendable (WaitOutcome) -> Void = { outcome in
            if reason.record(outcome) { early.end() }
        }
        return WaitRace(key: key, early: early, reason: reason, timers: timers, stopping: stopping, cancellation: cancellation,
                        cancelled: cancellation?.onFire { end(.cancelled) },
                        stopped: stopping.onFire { end(.stopping(latest())) },
                        timer: limit.map { limit in timers.schedule(after: limit) { end(.timedOut(latest())) } })
    }

    /// Sends `notifications/progress` now, at each change of the task's phase or progress, and every
    /// `heartbeat` without one, until cancelled.
    private func relayProgress(of created: TaskResource, to target: ProgressTarget) async {
        let (signals, feed) = AsyncStream.makeStream(of: TaskResource?.self, bufferingPolicy: .bufferingNewest(8))
        await withDiscardingTaskGroup { group in
            let versions = hub.versions(of: created.key)
            group.addTask {
                for await version in versions { feed.yield(version) }
            }
            group.addTask {
                while !Task.isCancelled {
                    do { try await Task.sleep(for: heartbeat) } catch { return }
                    feed.yield(nil)
                }
            }
            group.addTask {
                var reporter = ProgressReporter(target: target)
                await reporter.report(cache.get(created.key) ?? created, force: true)
                for await signal in signals {
                    if let version = signal {
                        await reporter.report(version, force: false)
                    } else {
                        await reporter.report(reporter.last ?? created, force: true)
                    }
                }
            }
            // The group ends when the wait cancels it.
        }
        feed.finish()
    }
}

/// Turns task versions into `notifications/progress`, only when something a client sees changed. Progress
/// must increase at every notification: the agent's `current` when it grew, else a step above the last
/// value sent (a phase change or a heartbeat), so that the message can change while the number may not.
struct ProgressReporter: Sendable {
    let target: ProgressTarget
    private(set) var last: TaskResource?
    private var sent: Double = 0
    private var lastSeen: (phase: TaskPhase, progress: TaskProgress?)?

    init(target: ProgressTarget) {
        self.target = target
    }

    mutating func report(_ task: TaskResource, force: Bool) async {
        last = task
        let seen = (phase: task.status.effectivePhase, progress: task.status.progress)
        if !force, let lastSeen, lastSeen.phase == seen.phase, lastSeen.progress == seen.progress { return }
        lastSeen = seen
        var value = sent + 0.001
        if let current = task.status.progress?.current, current > sent { value = current }
        sent = value
        var params: JSONObject = ["progressToken": target.token, "progress": .double(value), "message": .string(TaskSummary.line(task))]
        if let total = task.status.progress?.total, total >= value { params["total"] = .double(total) }
        await target.sink.send(JSONRPCMessage.notification("notifications/progress", .object(params)))
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
    let stopped: UInt64
    let timer: TimerQueue.Entry?

    /// Removes the early ends and says how the wait ended, given what the task's wait returned.
    func finish(_ result: Result<TaskResource, any Error>) -> WaitOutcome {
        if let timer { timers.cancel(timer) }
        if let cancelled { cancellation?.remove(cancelled) }
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

/// Why a wait ended early: the first of the limit, the client's cancellation and the shutdown to happen.
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
