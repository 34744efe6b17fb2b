import Synchronization

/// A one-shot event many tasks can wait for: a call's cancellation, the front end's shutdown. Waiting
/// ends when the signal fires or the waiting task is cancelled.
final class Signal: Sendable {
    private struct State {
        var fired = false
        var waiters: [UInt64: AsyncStream<Void>.Continuation] = [:]
        var nextID: UInt64 = 0
    }

    private let state = Mutex(State())

    init() {}

    var hasFired: Bool { state.withLock { $0.fired } }

    func fire() {
        let waiters = state.withLock { state in
            state.fired = true
            defer { state.waiters.removeAll() }
            return Array(state.waiters.values)
        }
        for waiter in waiters { waiter.finish() }
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
            _ = self?.state.withLock { $0.waiters.removeValue(forKey: id) }
        }
        for await _ in stream {}
    }
}
