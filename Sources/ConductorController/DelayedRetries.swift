import KubeClient

/// Retries after failed writes, per key (a task, an agent): each failure in a row waits longer (exponential
/// `backoff`), a success starts the count again, and at most one retry per key is pending. Kept by its owner's
/// isolation; the retry runs on the injected clock.
struct DelayedRetries<Key: Hashable & Sendable> {
    let backoff: RetryBackoff
    private var failures: [Key: Int] = [:]
    private var pending: [Key: Task<Void, Never>] = [:]

    init(backoff: RetryBackoff) {
        self.backoff = backoff
    }

    /// Counts a failure for `key` and calls `retry` once the backoff for that many failures in a row has passed,
    /// replacing a retry still pending. Returns the count and the wait, for the caller's log.
    mutating func schedule(_ key: Key, clock: any KubeClock,
                           retry: @escaping @Sendable () -> Void) -> (failures: Int, delay: Duration) {
        let count = (failures[key] ?? 0) + 1
        failures[key] = count
        let delay = backoff.delay(forRetry: count, strategy: .exponential)
        pending.removeValue(forKey: key)?.cancel()
        pending[key] = Task {
            do {
                try await clock.sleep(for: delay)
            } catch {
                return  // Cancelled: the write succeeded since, the key is gone, or the owner stopped.
            }
            retry()
        }
        return (count, delay)
    }

    /// Forgets `key`'s failures and cancels its pending retry: it succeeded, or is gone.
    mutating func reset(_ key: Key) {
        failures[key] = nil
        pending.removeValue(forKey: key)?.cancel()
    }

    mutating func cancelAll() {
        for task in pending.values { task.cancel() }
        pending.removeAll()
        failures.removeAll()
    }
}
