import Synchronization

/// Ends one wait in `TaskActor.awaitTerminal` before the task ends (the caller's limit passed, its client
/// cancelled, a shutdown), without cancelling the waiting task: an MCP call waits in its connection's task,
/// which must go on to answer. A registration where a task apiece would do the same: waiting calls are many,
/// and each one's memory counts. One object per wait: it parks once.
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
            switch state {
            case .ended: return true
            case .parked: preconditionFailure("EarlyWaitEnd parks one wait; this one parked twice")
            case .waiting:
                state = .parked(unpark: unpark)
                return false
            }
        }
        if endedAlready { unpark() }
    }
}
