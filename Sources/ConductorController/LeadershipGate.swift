import KubeClient
import Synchronization

/// Whether this replica leads, as its `LeaderElector` says: every replica mirrors the cluster (informers, task
/// actors, the scheduler's view, heartbeats), but only the leader writes what the controller decides. The
/// assignment loop, the task actors and the health monitor ask the gate before each write, and act on what
/// they withheld as soon as the replica leads.
///
///     let gate = LeadershipGate()
///     let elector = try LeaderElector(config: LeaderElectionConfig(lock: lock, callbacks: gate.callbacks()))
///
/// Leading is a hint, not a lock: a replica that just lost the lease may finish a write it started. Every
/// write is conditional on the resourceVersion it read (and task writes on the attempt), so an overlap costs a
/// conflict, never a double assignment.
public final class LeadershipGate: Sendable {
    /// Who asked to write.
    public enum Writer: Sendable, Hashable, CaseIterable {
        /// The task actors' lifecycle writes: retries, requeues after agent loss, failures.
        case taskLifecycle
        /// The health monitor's agent status writes.
        case agentHealth
    }

    private struct State {
        var leading: Bool
        var subscribers: [Int: AsyncStream<Bool>.Continuation] = [:]
        var nextID = 0
        var refusals: [Writer: Int] = [:]
    }

    private let state: Mutex<State>

    /// `leading` true for a replica that runs alone (development, tests): nothing is withheld.
    public init(leading: Bool = false) {
        state = Mutex(State(leading: leading))
    }

    public var isLeading: Bool { state.withLock { $0.leading } }

    /// Whether `writer` may write now; a refusal is counted.
    public func permitsWrite(by writer: Writer) -> Bool {
        state.withLock { state in
            if !state.leading { state.refusals[writer, default: 0] += 1 }
            return state.leading
        }
    }

    /// Writes refused to `writer` since the gate was made.
    public func refusals(of writer: Writer) -> Int {
        state.withLock { $0.refusals[writer] ?? 0 }
    }

    /// Flips the gate; subscribers hear of a change, not of a repeat.
    public func set(leading: Bool) {
        state.withLock { state in
            guard state.leading != leading else { return }
            state.leading = leading
            // Under the lock, so that each subscriber hears the changes in order; yielding only queues.
            for subscriber in state.subscribers.values { subscriber.yield(leading) }
        }
    }

    /// The current state, then every change. The stream ends when its iteration does.
    public func changes() -> AsyncStream<Bool> {
        let (stream, continuation) = AsyncStream.makeStream(of: Bool.self)
        let id = state.withLock { state in
            state.nextID += 1
            state.subscribers[state.nextID] = continuation
            continuation.yield(state.leading)
            return state.nextID
        }
        continuation.onTermination = { [weak self] _ in
            // Never waits for `state`: a cancelled subscriber's handler runs with that task's runtime lock held,
            // and `set` holding `state` may be waking the same task (a yield), which needs that lock. The
            // removed continuation is released outside the lock.
            guard let self else { return }
            let removed = self.state.withLockIfAvailable { $0.subscribers.removeValue(forKey: id) }
            if removed == nil {
                Task { _ = self.state.withLock { $0.subscribers.removeValue(forKey: id) } }
            }
        }
        return stream
    }

    /// One element each time the replica comes to lead after having been a follower: the moment to act on
    /// what was withheld. A gate that leads from the start yields nothing for it (nothing was withheld).
    public func gains() -> AsyncStream<Void> {
        let changes = self.changes()
        return AsyncStream { continuation in
            let forwarding = Task {
                var wasLeading: Bool?
                for await leading in changes {
                    if leading, wasLeading == false { continuation.yield() }
                    wasLeading = leading
                }
                continuation.finish()
            }
            continuation.onTermination = { _ in forwarding.cancel() }
        }
    }

    /// Callbacks for a `LeaderElector` that flip this gate. `onStartedLeading` opens it and stays until the
    /// elector cancels it, which it does the moment leading stops: the gate closes then, before the elector
    /// goes on to `onStoppedLeading` (which closes it too, for good measure).
    public func callbacks(onNewLeader: @escaping @Sendable (String) -> Void = { _ in }) -> LeaderCallbacks {
        LeaderCallbacks(
            onStartedLeading: {
                self.set(leading: true)
                // Suspends until cancelled: a stream that never yields ends its iteration on cancellation.
                let (untilCancelled, keepOpen) = AsyncStream.makeStream(of: Never.self)
                for await _ in untilCancelled {}
                keepOpen.finish()
                self.set(leading: false)
            },
            onStoppedLeading: { self.set(leading: false) },
            onNewLeader: onNewLeader)
    }
}
