import DequeModule
import Metrics
import Synchronization

/// At most `limit` requests in progress at once across all of the front end's connections: routed, their tool
/// called, their answer written or their wait registered. The rest wait their turn, in the order they arrived,
/// as a request and a closure each, with no Swift task.
///
/// A request in progress holds a task, its stack slabs and what routing allocates (sessions, JSON, the tool's
/// arguments). Thousands of calls that arrive together would otherwise all be in progress at once, and glibc
/// keeps that high-water mark resident after they have parked: 4,000 SSE calls sent at once left 13 KiB per
/// waiting call where the calls held 9.6 (loadtest/README.md). A waiting call, a GET stream or a subscription
/// leaves progress once it is parked or streaming (`Slot`), so the limit never counts long waits.
final class RequestAdmission: Sendable {
    /// One admitted request's place; given back once, by whichever of its ends comes first.
    final class Slot: Sendable {
        private let admission: RequestAdmission
        private let returned = Atomic(false)

        fileprivate init(_ admission: RequestAdmission) {
            self.admission = admission
        }

        func giveBack() {
            guard !returned.exchange(true, ordering: .acquiringAndReleasing) else { return }
            admission.slotReturned()
        }
    }

    private struct State {
        var inProgress = 0
        var waiting = Deque<@Sendable (Slot) -> Void>()
    }

    let limit: Int
    private let state = Mutex(State())
    /// Set under the lock at each change (see `MCPMetrics`).
    private let gauges = MCPMetrics.admissionGauges()

    init(limit: Int) {
        precondition(limit > 0, "an admission limit of \(limit) would admit nothing")
        self.limit = limit
    }

    /// Requests in progress, and requests waiting their turn.
    var counts: (inProgress: Int, waiting: Int) {
        state.withLock { ($0.inProgress, $0.waiting.count) }
    }

    /// Runs `start` with a slot now if one is free, else when one is given back. `start` must give the slot back.
    func admit(_ start: @escaping @Sendable (Slot) -> Void) {
        let admitted = state.withLock { state -> Bool in
            guard state.inProgress < limit else {
                state.waiting.append(start)
                gauges.queued.record(state.waiting.count)
                return false
            }
            state.inProgress += 1
            gauges.inProgress.record(state.inProgress)
            return true
        }
        if admitted { start(Slot(self)) }
    }

    /// The slot passes to the first request waiting, if any.
    private func slotReturned() {
        let next = state.withLock { state -> (@Sendable (Slot) -> Void)? in
            if let next = state.waiting.popFirst() {
                gauges.queued.record(state.waiting.count)
                return next
            }
            state.inProgress -= 1
            gauges.inProgress.record(state.inProgress)
            return nil
        }
        next?(Slot(self))
    }
}
