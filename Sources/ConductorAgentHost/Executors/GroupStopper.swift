#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// Stops a program's process group once, for the first cause: SIGTERM, then SIGKILL after the grace period
/// if anything of the group is left.
final class GroupStopper: Sendable {
    enum Cause: Sendable { case cancelled, deadline, outputTooLarge }

    private struct State {
        var cause: Cause?
        var killer: Task<Void, Never>?
        var finished = false
    }

    private let child: ChildProcess
    private let grace: Duration
    private let state = Mutex(State())

    init(child: ChildProcess, grace: Duration) {
        self.child = child
        self.grace = grace
    }

    var cause: Cause? { state.withLock { $0.cause } }

    func stop(_ cause: Cause) {
        let first: Bool = state.withLock { state in
            guard state.cause == nil, !state.finished else { return false }
            state.cause = cause
            return true
        }
        guard first else { return }
        child.signalGroup(SIGTERM)
        let child = self.child, grace = self.grace
        let killer = Task {
            try? await Task.sleep(for: grace)
            if !Task.isCancelled, child.groupExists { child.signalGroup(SIGKILL) }
        }
        state.withLock { $0.killer = killer }
    }

    /// The program and its group are gone: no SIGKILL is due any more.
    func finish() {
        let killer: Task<Void, Never>? = state.withLock { state in
            state.finished = true
            return state.killer
        }
        killer?.cancel()
    }
}
