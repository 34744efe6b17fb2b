import ConductorAPI
import KubeClient
import Synchronization

/// Hands each watched task's new versions to the calls that follow it (for progress), and the versions of
/// a session's MCP task handles to that session's GET stream (for `notifications/tasks/status`), from one
/// subscription to the task informer: a listener costs a dictionary entry, not a stream of every task's events.
final class TaskEventHub: Sendable {
    private struct State {
        var listeners: [String: [UInt64: AsyncStream<TaskResource>.Continuation]] = [:]
        /// By session nonce (`TaskSubmitter.sessionAnnotation`).
        var sessionListeners: [String: [UInt64: AsyncStream<TaskResource>.Continuation]] = [:]
        var nextID: UInt64 = 0
    }

    private let state = Mutex(State())

    init() {}

    /// Delivers the informer's events until the stream ends or the calling task is cancelled.
    func follow(_ tasks: Informer<TaskResource>) async {
        for await event in tasks.events() {
            deliver(event.object)
        }
    }

    func deliver(_ task: TaskResource) {
        let session = task.metadata.annotations?[TaskSubmitter.sessionAnnotation]
        let listeners = state.withLock { state -> [AsyncStream<TaskResource>.Continuation] in
            var found = state.listeners[task.key].map { Array($0.values) } ?? []
            if let session, let ofSession = state.sessionListeners[session] { found += ofSession.values }
            return found
        }
        for listener in listeners { listener.yield(task) }
    }

    /// The versions of the task handles the session `nonce` created, from now on; ends when the reader stops.
    func versions(ofSession nonce: String) -> AsyncStream<TaskResource> {
        let (stream, continuation) = AsyncStream.makeStream(of: TaskResource.self, bufferingPolicy: .bufferingNewest(64))
        let id = state.withLock { state in
            state.nextID += 1
            state.sessionListeners[nonce, default: [:]][state.nextID] = continuation
            return state.nextID
        }
        continuation.onTermination = { [weak self] _ in
            self?.state.withLock { state in
                state.sessionListeners[nonce]?[id] = nil
                if state.sessionListeners[nonce]?.isEmpty == true { state.sessionListeners[nonce] = nil }
            }
        }
        return stream
    }

    /// The versions of the task `key` from now on; only the newest waits when the reader is slow. Ends when
    /// the reader stops iterating.
    func versions(of key: String) -> AsyncStream<TaskResource> {
        let (stream, continuation) = AsyncStream.makeStream(of: TaskResource.self, bufferingPolicy: .bufferingNewest(1))
        let id = state.withLock { state in
            state.nextID += 1
            state.listeners[key, default: [:]][state.nextID] = continuation
            return state.nextID
        }
        continuation.onTermination = { [weak self] _ in
            self?.state.withLock { state in
                state.listeners[key]?[id] = nil
                if state.listeners[key]?.isEmpty == true { state.listeners[key] = nil }
            }
        }
        return stream
    }

    /// Tasks followed now, for tests.
    var followedCount: Int { state.withLock { $0.listeners.count } }
}
