import Synchronization

/// Ends one wait in `TaskActor.awaitTerminal` before the task ends (the caller's limit passed, its client
/// cancelled, a shutdown), without cancelling the waiting task: an MCP call waits in its connection's task,
/// which must go on to answer. A registration where a task apiece would do the same: waiting calls are many,
/// and each one's memory counts.
public final class EarlyWaitEnd: Sendable {
    private enum State {
        case waiting
        case parked(unpark: @Sendable () -> Void)
        case ended
    }

    private let state = Mutex(State.waiting)

    public init() {}

    /// Ends the wait (it throws `CancellationError`): at once when it is parked, else as soon as it parks.
    /// Only the first call does anything.
    public func end() {
        let unpark: (@Sendable () -> Void)? = state.withLock { state in
            defer { state = .ended }
            if case .parked(let unpark) = state { return unpark }
            return nil
        }
        unpark?()
    }

    /// The waiter is parked (on a task actor, or wherever a `TerminalAwaiting` parks it): `unpark` answers it.
    public func whenParked(_ unpark: @escaping @Sendable () -> Void) {
        let endedAlready = state.withLock { state in
            if case .ended = state { return true }
            state = .parked(unpark: unpark)
            return false
        }
        if endedAlready { unpark() }
    }
}
