import KubeClient
import Synchronization

/// A one-shot event: a call's cancellation, its client leaving, the front end's shutdown. Tasks can wait for it,
/// or register an action it runs when it fires; a registered action costs a dictionary entry, where a waiting task
/// costs a task (a waiting call registers actions: it must cost as little as possible).
final class Signal: Sendable {
    private struct State {
        var fired = false
        var waiters: [UInt64: AsyncStream<Void>.Continuation] = [:]
        /// Most signals are a call's own and get one action: kept here, it needs no dictionary (one per waiting
        /// call, ~100 bytes each).
        var onlyAction: (id: UInt64, action: @Sendable () -> Void)?
        var actions: [UInt64: @Sendable () -> Void] = [:]
        var nextID: UInt64 = 0
    }

    private let state = Mutex(State())

    init() {}

    var hasFired: Bool { state.withLock { $0.fired } }

    /// Room the table of registered actions keeps: it shrinks back once most are removed.
    var actionCapacity: Int { state.withLock { $0.actions.capacity } }

    func fire() {
        let (waiters, actions) = state.withLock { state -> ([AsyncStream<Void>.Continuation], [@Sendable () -> Void]) in
            guard !state.fired else { return ([], []) }
            state.fired = true
            defer {
                state.waiters.removeAll()
                state.onlyAction = nil
                state.actions.removeAll()
            }
            return (Array(state.waiters.values), (state.onlyAction.map { [$0.action] } ?? []) + Array(state.actions.values))
        }
        for waiter in waiters { waiter.finish() }
        for action in actions { action() }
    }

    /// Runs `action` when the signal fires, on the firing thread (so it must be quick); at once if it has fired.
    /// Returns the registration to `remove`.
    @discardableResult
    func onFire(_ action: @escaping @Sendable () -> Void) -> UInt64 {
        let id: UInt64? = state.withLock { state in
            guard !state.fired else { return nil }
            state.nextID += 1
            if state.onlyAction == nil && state.actions.isEmpty {
                state.onlyAction = (state.nextID, action)
            } else {
                state.actions[state.nextID] = action
            }
            return state.nextID
        }
        guard let id else {
            action()
            return 0
        }
        return id
    }

    func remove(_ registration: UInt64) {
        state.withLock { state in
            if state.onlyAction?.id == registration {
                state.onlyAction = nil
                return
            }
            state.actions.removeValue(forKey: registration)
            // The shutdown signal holds an action per waiting call: its table shrinks back after a burst of them.
            state.actions.shrinkIfSparse()
        }
    }

    /// Returns once the signal fired, or at once if the calling task is cancelled.
    func wait() async {
        let (stream, continuation) = AsyncStream.makeStream(of: Void.self)
        let id: UInt64? = state.withLock { state in
            guard !state.fired else { return nil }
            state.nextID += 1
            state.waiters[state.nextID] = continuation
            return state.nextID
        }
        guard let id else { return }
        continuation.onTermination = { [weak self] _ in
            self?.state.withLock { state in
                state.waiters.removeValue(forKey: id)
                state.waiters.shrinkIfSparse()
            }
        }
        for await _ in stream {}
    }
}
