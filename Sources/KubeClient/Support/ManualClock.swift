import Foundation
import Synchronization

/// A clock that moves only when told to (k8s.io/utils/clock/testing's FakeClock): tests advance it and
/// whatever slept until then wakes, so timing is exact and nothing waits for real time.
///
/// It tells sleepers from deadlines: `sleep` parks a task until a time (a retry period, a backoff), while
/// `withDeadline` only bounds work that is running. `sleeperCount` counts the first kind alone, so a test
/// can tell "every task is parked on the clock" from "a task is doing something under a deadline" and
/// advance time only once the system is quiet.
public final class ManualClock: KubeClock {
    private struct Waiter {
        var deadline: MonotonicInstant
        var isSleeper: Bool
        var continuation: CheckedContinuation<Void, any Error>
    }

    private struct State {
        var now = MonotonicInstant(sinceOrigin: .zero)
        var waiters: [UInt64: Waiter] = [:]
        var nextID: UInt64 = 0
    }

    private let state = Mutex(State())
    private let wallOrigin: Date

    /// `wallTime` starts at `wallTime` and moves with the monotonic time.
    public init(wallTime: Date = Date(timeIntervalSince1970: 1_767_225_600)) {
        wallOrigin = wallTime
    }

    public var now: MonotonicInstant { state.withLock { $0.now } }
    public var wallTime: Date { wallOrigin.addingTimeInterval(now.sinceOrigin.inSeconds) }
    public var minimumResolution: Duration { .nanoseconds(1) }

    /// Tasks parked in `sleep` (not those bounded by `withDeadline`).
    public var sleeperCount: Int { state.withLock { $0.waiters.values.count { $0.isSleeper } } }

    /// Operations running under a `withDeadline` of this clock.
    public var deadlineCount: Int { state.withLock { $0.waiters.values.count { !$0.isSleeper } } }

    /// When the earliest sleeper wakes; nil when none sleeps.
    public var nextWakeUp: MonotonicInstant? { state.withLock { $0.waiters.values.filter(\.isSleeper).map(\.deadline).min() } }

    public func sleep(until deadline: MonotonicInstant, tolerance: Duration? = nil) async throws {
        try await wait(until: deadline, isSleeper: true)
    }

    public func withDeadline<T: Sendable>(_ deadline: MonotonicInstant,
                                          _ operation: @escaping @Sendable () async throws -> T) async throws -> T {
        try await race(operation, deadline: deadline) { try await self.wait(until: deadline, isSleeper: false) }
    }

    /// Moves time forward by `duration` and wakes every waiter whose time has come, earliest first.
    public func advance(by duration: Duration) {
        precondition(duration >= .zero, "a clock does not go back")
        move { $0.advanced(by: duration) }
    }

    /// Moves time forward to `instant` (nothing happens if it is not later than now).
    public func advance(to instant: MonotonicInstant) {
        move { max($0, instant) }
    }

    /// Moves time to the earliest sleeper's wake-up and returns it; nil (and no move) when none sleeps.
    @discardableResult
    public func advanceToNextWakeUp() -> MonotonicInstant? {
        guard let next = nextWakeUp else { return nil }
        advance(to: next)
        return next
    }

    private func move(_ target: (MonotonicInstant) -> MonotonicInstant) {
        let due: [Waiter] = state.withLock { state in
            state.now = target(state.now)
            let now = state.now
            let ids = state.waiters.filter { $0.value.deadline <= now }.map(\.key)
            return ids.compactMap { state.waiters.removeValue(forKey: $0) }.sorted { $0.deadline < $1.deadline }
        }
        // Resumed outside the lock: a woken task may read the clock at once.
        for waiter in due { waiter.continuation.resume() }
    }

    private func wait(until deadline: MonotonicInstant, isSleeper: Bool) async throws {
        let id = state.withLock { state in
            state.nextID += 1
            return state.nextID
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                // Checking cancellation and registering under one lock closes the gap in which a cancel could
                // run its handler before the waiter is there to remove.
                let immediate: Result<Void, any Error>? = state.withLock { state in
                    if Task.isCancelled { return .failure(CancellationError()) }
                    if deadline <= state.now { return .success(()) }
                    state.waiters[id] = Waiter(deadline: deadline, isSleeper: isSleeper, continuation: continuation)
                    return nil
                }
                if let immediate { continuation.resume(with: immediate) }
            }
        } onCancel: {
            let waiter = state.withLock { $0.waiters.removeValue(forKey: id) }
            waiter?.continuation.resume(throwing: CancellationError())
        }
    }
}
