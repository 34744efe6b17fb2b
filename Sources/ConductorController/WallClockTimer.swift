import ConductorAPI
import KubeClient

/// One timer for a wall-clock time (a deadline, the end of a backoff, a heartbeat's expiry), kept by its
/// owner's isolation: arming it for another time replaces it, arming it for the same time keeps it running.
///
/// The wait runs on the clock's monotonic time: the wall-time gap is taken onto it when the timer is armed, so
/// a step of the wall clock cannot make the timer fire early or late.
struct WallClockTimer {
    private var task: Task<Void, Never>?
    /// The wall time the running timer fires for.
    private(set) var armedFor: Timestamp?

    /// Arms the timer to call `fire` with `target` once the clock reaches it (at once if it has passed);
    /// nil disarms it. `now` is the wall time `target` is measured from.
    mutating func arm(at target: Timestamp?, now: Timestamp, clock: any KubeClock,
                      fire: @escaping @Sendable (Timestamp) -> Void) {
        guard target != armedFor else { return }
        cancel()
        armedFor = target
        guard let target else { return }
        let wake = clock.now.advanced(by: max(now.duration(to: target), .zero))
        task = Task {
            do {
                try await clock.sleep(until: wake, tolerance: nil)
            } catch {
                return  // Cancelled: re-armed, or its owner stopped.
            }
            fire(target)
        }
    }

    /// Notes that the timer for `target` fired; returns whether it was the one armed now (not one replaced).
    @discardableResult
    mutating func fired(_ target: Timestamp) -> Bool {
        guard target == armedFor else { return false }
        task = nil
        armedFor = nil
        return true
    }

    mutating func cancel() {
        task?.cancel()
        task = nil
        armedFor = nil
    }
}
