import ConductorAPI
import KubeClient
import Synchronization

/// Hands each watched task's new versions to the calls that follow it (for progress), and the versions of
/// a session's MCP task handles to that session's GET stream (for `notifications/tasks/status`), from one
/// subscription to the task informer: a listener costs a dictionary entry, not a stream of every task's events.
final class TaskEventHub: Sendable {
    /// Called with each new version, on the thread that delivers it: it must be quick.
    typealias Listener = @Sendable (TaskResource) -> Void

    /// A listener's registration, to `remove`.
    struct Listening: Sendable {
        fileprivate let key: String
        fileprivate let id: UInt64
    }

    private struct State {
        var listeners: [String: [UInt64: Listener]] = [:]
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
        let (listeners, ofSession) = state.withLock { state in
            (state.listeners[task.key].map { Array($0.values) } ?? [],
             session.flatMap { state.sessionListeners[$0].map { Array($0.values) } } ?? [])
        }
        for listener in listeners { listener(task) }
        for listener in ofSession { listener.yield(task) }
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
        let listening = listen(to: key) { continuation.yield($0) }
        continuation.onTermination = { [weak self] _ in self?.remove(listening) }
        return stream
    }

    /// Calls `listener` with each new version of the task `key` until removed: a follower with no task of its own
    /// (a waiting call's progress, `ProgressRelay`).
    func listen(to key: String, _ listener: @escaping Listener) -> Listening {
        state.withLock { state in
            state.nextID += 1
            state.listeners[key, default: [:]][state.nextID] = listener
            return Listening(key: key, id: state.nextID)
        }
    }

    func remove(_ listening: Listening) {
        state.withLock { state in
            state.listeners[listening.key]?[listening.id] = nil
            if state.listeners[listening.key]?.isEmpty == true {
                state.listeners[listening.key] = nil
                state.listeners.shrinkIfSparse()
            }
        }
    }

    /// Tasks followed now, for tests.
    var followedCount: Int { state.withLock { $0.listeners.count } }
}
