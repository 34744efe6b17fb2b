import HeapModule
import KubeClient
import Synchronization

/// Runs actions at instants of one clock, all from one sleeping task. A task apiece sleeping until its instant
/// costs each timer some kilobytes (the task, its sleep); an entry here costs about a hundred bytes. For the
/// many timers of a busy process, most of them cancelled before they fire: each task actor's deadline or
/// backoff, each waiting MCP call's limit.
///
/// The driving task exists only while something is scheduled. Actions run on it, one after another, so they
/// must be quick (send a message, resume a continuation).
public final class TimerQueue: Sendable {
    /// A scheduled action, to cancel.
    public struct Entry: Sendable, Hashable {
        fileprivate let id: UInt64
        fileprivate let instant: MonotonicInstant
    }

    private struct Due: Comparable {
        var instant: MonotonicInstant
        var id: UInt64

        static func < (lhs: Due, rhs: Due) -> Bool {
            (lhs.instant, lhs.id) < (rhs.instant, rhs.id)
        }
    }

    private struct State {
        /// Every entry scheduled, cancelled ones too until they come to the top or the heap is compacted.
        var heap = Heap<Due>()
        /// The entries not fired nor cancelled.
        var actions: [UInt64: @Sendable () -> Void] = [:]
        var nextID: UInt64 = 0
        var driving = false
        /// What the driver sleeps until, and the sleep, which an earlier entry cancels to wake it.
        var sleepingUntil: MonotonicInstant?
        var sleep: Task<Void, Never>?
    }

    private let clock: any KubeClock
    private let state = Mutex(State())

    public init(clock: any KubeClock) {
        self.clock = clock
    }

    /// Runs `action` once the clock reaches `instant` (soon, if it has).
    @discardableResult
    public func schedule(at instant: MonotonicInstant, _ action: @escaping @Sendable () -> Void) -> Entry {
        let (entry, startDriver) = state.withLock { state -> (Entry, Bool) in
            state.nextID += 1
            let id = state.nextID
            state.heap.insert(Due(instant: instant, id: id))
            state.actions[id] = action
            if state.driving {
                if let sleepingUntil = state.sleepingUntil, instant < sleepingUntil {
                    state.sleepingUntil = instant
                    state.sleep?.cancel()
                }
                return (Entry(id: id, instant: instant), false)
            }
            state.driving = true
            return (Entry(id: id, instant: instant), true)
        }
        if startDriver {
            // Detached: the driver serves every timer, not the priority of whichever caller came first.
            Task.detached { await self.drive() }
        }
        return entry
    }

    /// `schedule` at `duration` from now.
    @discardableResult
    public func schedule(after duration: Duration, _ action: @escaping @Sendable () -> Void) -> Entry {
        schedule(at: clock.now.advanced(by: duration), action)
    }

    /// Drops `entry` unless it has run; returns whether it was still waiting.
    @discardableResult
    public func cancel(_ entry: Entry) -> Bool {
        state.withLock { state in
            guard state.actions.removeValue(forKey: entry.id) != nil else { return false }
            state.actions.shrinkIfSparse()
            // The driver sleeps for this entry: wake it to sleep until the next live one instead.
            if entry.instant == state.sleepingUntil {
                state.sleepingUntil = nil
                state.sleep?.cancel()
            }
            // Cancelled entries stay in the heap until they come to its top: rebuild it before they outnumber
            // the live ones, so that timers cancelled long before their instant do not pile up.
            if state.heap.count > 64, state.heap.count > 2 * state.actions.count {
                state.heap = Heap(state.heap.unordered.filter { state.actions[$0.id] != nil })
            }
            return true
        }
    }

    /// Entries waiting to run.
    var pendingCount: Int { state.withLock { $0.actions.count } }

    /// Room the table of entries keeps: it shrinks back once most entries are gone.
    var actionCapacity: Int { state.withLock { $0.actions.capacity } }

    /// Entries the heap holds, cancelled ones included.
    var heapCount: Int { state.withLock { $0.heap.count } }

    /// Whether the driving task runs.
    var isDriving: Bool { state.withLock { $0.driving } }

    private func drive() async {
        while true {
            let now = clock.now
            let (due, next) = state.withLock { state -> ([@Sendable () -> Void], Task<Void, Never>?) in
                var due: [@Sendable () -> Void] = []
                while let first = state.heap.min, first.instant <= now || state.actions[first.id] == nil {
                    state.heap.removeMin()
                    if let action = state.actions.removeValue(forKey: first.id) { due.append(action) }
                }
                state.actions.shrinkIfSparse()
                if state.heap.isEmpty { state.heap = Heap() }
                guard let next = state.heap.min?.instant else {
                    // The driver ends on a pass with nothing to run, so that actions never run on two drivers.
                    if due.isEmpty {
                        state.driving = false
                        state.sleepingUntil = nil
                        state.sleep = nil
                    }
                    return (due, nil)
                }
                // Woken early (cancelled) by an earlier entry, or one cancelled that it slept for.
                let clock = self.clock
                let sleep = Task<Void, Never> { try? await clock.sleep(until: next, tolerance: nil) }
                state.sleepingUntil = next
                state.sleep = sleep
                return (due, sleep)
            }
            for action in due { action() }
            if let next {
                await next.value
            } else if due.isEmpty {
                return
            }
        }
    }
}
