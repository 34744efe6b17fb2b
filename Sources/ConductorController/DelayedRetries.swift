import KubeClient

/// Failures in a row per key (a task, an agent) and the exponential wait each calls for: the bookkeeping that
/// `DelayedRetries` and the supervisors' restarts share. Kept by its owner's isolation.
struct ConsecutiveFailures<Key: Hashable & Sendable> {
    let backoff: RetryBackoff
    private var counts: [Key: Int] = [:]

    init(backoff: RetryBackoff) {
        self.backoff = backoff
    }

    /// Counts one more failure for `key`; returns the count and the wait for that many in a row.
    mutating func record(_ key: Key) -> (failures: Int, delay: Duration) {
        let count = (counts[key] ?? 0) + 1
        counts[key] = count
        return (count, backoff.delay(forRetry: count, strategy: .exponential))
    }

    /// Starts `key`'s count again: it succeeded, or is gone.
    mutating func reset(_ key: Key) {
        counts[key] = nil
    }

    mutating func removeAll() {
        counts.removeAll()
    }
}

/// Retries after failed writes, per key (a task, an agent): each failure in a row waits longer (exponential
/// `backoff`), a success starts the count again, and at most one retry per key is pending. Kept by its owner's
/// isolation; the retry runs on the injected clock.
struct DelayedRetries<Key: Hashable & Sendable> {
    private var failures: ConsecutiveFailures<Key>
    private var pending: [Key: Task<Void, Never>] = [:]

    init(backoff: RetryBackoff) {
        failures = ConsecutiveFailures(backoff: backoff)
    }

    /// Counts a failure for `key` and calls `retry` once the backoff for that many failures in a row has passed,
    /// replacing a retry still pending. Returns the count and the wait, for the caller's log.
    mutating func schedule(_ key: Key, clock: any KubeClock,
                           retry: @escaping @Sendable () -> Void) -> (failures: Int, delay: Duration) {
        let (count, delay) = failures.record(key)
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
        failures.reset(key)
        pending.removeValue(forKey: key)?.cancel()
    }

    mutating func cancelAll() {
        for task in pending.values { task.cancel() }
        pending.removeAll()
        failures.removeAll()
    }
}
