import Synchronization

/// Wakes the one parked consumer of a queue. It is a binary semaphore: a wake-up posted while nobody waits is
/// kept (once) for the next wait, so a wake-up can never fall between the consumer's last look at the queue and
/// its going to sleep. Producers reach it only when the consumer announced that it is parked, so the lock here
/// stays off the enqueue fast path.
@usableFromInline
final class ConsumerWakeup: Sendable {
    private struct State {
        var pendingWakeup = false
        var parkedConsumer: CheckedContinuation<Bool, Never>?
    }

    private let state = Mutex(State())

    /// Waits for a wake-up. Returns `false`, at once, when the waiting task is cancelled.
    @usableFromInline
    func wait() async -> Bool {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
                let immediateAnswer: Bool? = state.withLock { state in
                    if state.pendingWakeup {
                        state.pendingWakeup = false
                        return true
                    }
                    // Checked under the lock: a cancellation handler that ran before this point found no
                    // continuation to resume, so this is the only place left that can see the cancellation.
                    if Task.isCancelled { return false }
                    state.parkedConsumer = continuation
                    return nil
                }
                if let immediateAnswer { continuation.resume(returning: immediateAnswer) }
            }
        } onCancel: {
            let parked = state.withLock { state in
                defer { state.parkedConsumer = nil }
                return state.parkedConsumer
            }
            parked?.resume(returning: false)
        }
    }

    @usableFromInline
    func post() {
        let parked: CheckedContinuation<Bool, Never>? = state.withLock { state in
            guard let parked = state.parkedConsumer else {
                state.pendingWakeup = true
                return nil
            }
            state.parkedConsumer = nil
            return parked
        }
        parked?.resume(returning: true)
    }
}
