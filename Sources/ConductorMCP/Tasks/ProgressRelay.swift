import ConductorAPI
import ConductorController
import Synchronization

/// Relays one waiting call's progress without a task of its own: `notifications/progress` at once, at each change
/// of the task's phase or progress (a `TaskEventHub` listener), and every `heartbeat` besides (a `RepeatingTimer`),
/// until stopped. A task per relay, sleeping and reading a stream of versions, cost a waiting call about 20 KiB
/// (Tests/e2e/measure_mcp_waits.py --stream).
final class ProgressRelay: Sendable {
    private struct State {
        var reporter: ProgressReporter
        var stopped = false
        var listening: TaskEventHub.Listening?
        var heartbeats: RepeatingTimer?
    }

    private let state: Mutex<State>
    private let hub: TaskEventHub

    /// Starts relaying the task `key`, as `latest` has it now and as the hub delivers it later; the first
    /// notification is sent before this returns.
    init(of key: String, latest: @Sendable () -> TaskResource, to target: ProgressTarget, hub: TaskEventHub,
         timers: TimerQueue, heartbeat: Duration) {
        self.hub = hub
        state = Mutex(State(reporter: ProgressReporter(target: target)))
        // Listening before the cache is read, so that no version falls between the two.
        let listening = hub.listen(to: key) { [self] version in report(version, force: false) }
        let heartbeats = RepeatingTimer(on: timers, every: heartbeat) { [self] in report(nil, force: true) }
        state.withLock { state in
            state.listening = listening
            state.heartbeats = heartbeats
            state.reporter.report(latest(), force: true)
        }
        target.sink.sendsRegularly(heartbeat)
    }

    /// Ends the relay: no notification is sent once this returns, so the call's answer can follow.
    func stop() {
        let (listening, heartbeats) = state.withLock { state in
            state.stopped = true
            // The listener and the timer hold this relay: dropping them here ends the cycle.
            defer { (state.listening, state.heartbeats) = (nil, nil) }
            return (state.listening, state.heartbeats)
        }
        if let listening { hub.remove(listening) }
        heartbeats?.stop()
    }

    /// Reports `version`, or the last version again (a heartbeat) when nil.
    private func report(_ version: TaskResource?, force: Bool) {
        state.withLock { state in
            guard !state.stopped, let version = version ?? state.reporter.last else { return }
            state.reporter.report(version, force: force)
        }
    }
}
