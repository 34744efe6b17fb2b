import ConductorAPI
import KubeClient

/// One timer for a wall-clock time (a deadline, the end of a backoff, a heartbeat's expiry), kept by its
/// owner's isolation: arming it for another time replaces it, arming it for the same time keeps it running.
///
/// The wait runs on the clock's monotonic time: the wall-time gap is taken onto it when the timer is armed, so
/// a step of the wall clock cannot make the timer fire early or late.
struct WallClockTimer {
    /// The queue is the owner's (passed in each call), so that each of many timers stores only its entry.
    private var entry: TimerQueue.Entry?
    /// The wall time the running timer fires for.
    private(set) var armedFor: Timestamp?

    /// Arms the timer to call `fire` with `target` once the clock of `queue` reaches it (at once if it has
    /// passed); nil disarms it. `now` is the wall time `target` is measured from.
    mutating func arm(at target: Timestamp?, now: Timestamp, queue: TimerQueue,
                      fire: @escaping @Sendable (Timestamp) -> Void) {
        guard target != armedFor else { return }
        cancel(in: queue)
        armedFor = target
        guard let target else { return }
        entry = queue.schedule(after: max(now.duration(to: target), .zero)) { fire(target) }
    }

    /// Notes that the timer for `target` fired; returns whether it was the one armed now (not one replaced).
    @discardableResult
    mutating func fired(_ target: Timestamp) -> Bool {
        guard target == armedFor else { return false }
        entry = nil
        armedFor = nil
        return true
    }

    /// Disarms the timer; `queue` is the one it was armed on.
    mutating func cancel(in queue: TimerQueue) {
        if let entry { queue.cancel(entry) }
        entry = nil
        armedFor = nil
    }
}
