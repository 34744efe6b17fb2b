import ConductorController
import Synchronization

/// An action run every `interval` on a `TimerQueue` until stopped: an SSE stream's keep-alives, a waiting call's
/// progress heartbeats. An entry on the queue instead of a task that sleeps in a loop, which costs a waiting call
/// some kilobytes (Tests/e2e/measure_mcp_waits.py).
///
/// A tick that was already running when `stop` was called may still finish: an action that must not run after a
/// stop checks for it under its own lock.
final class RepeatingTimer: Sendable {
    private struct State {
        var stopped = false
        var next: TimerQueue.Entry?
    }

    private let timers: TimerQueue
    private let interval: Duration
    private let action: @Sendable () -> Void
    private let state = Mutex(State())

    init(on timers: TimerQueue, every interval: Duration, _ action: @escaping @Sendable () -> Void) {
        self.timers = timers
        self.interval = interval
        self.action = action
        arm()
    }

    func stop() {
        state.withLock { state in
            state.stopped = true
            if let next = state.next { timers.cancel(next) }
            state.next = nil
        }
    }

    /// The queue holds this timer through its next entry until it is stopped.
    private func arm() {
        state.withLock { state in
            guard !state.stopped else { return }
            state.next = timers.schedule(after: interval) { [self] in
                action()
                arm()
            }
        }
    }
}
