import Synchronization

/// Verdicts of TokenReviews and SubjectAccessReviews for a short while, as kube-rbac-proxy caches them: a
/// client calling in a loop costs the API server one review per interval, not one per call. Bounded: past
/// `capacity` entries the expired ones go, then all.
final class ReviewCache<Verdict: Sendable>: Sendable {
    private let entries = Mutex<[String: (verdict: Verdict, until: ContinuousClock.Instant)]>([:])
    private let lifetime: Duration
    private let capacity: Int

    init(lifetime: Duration, capacity: Int = 10_000) {
        self.lifetime = lifetime
        self.capacity = capacity
    }

    func get(_ key: String) -> Verdict? {
        let now = ContinuousClock.now
        return entries.withLock { entries in
            guard let entry = entries[key] else { return nil }
            guard entry.until > now else {
                entries[key] = nil
                return nil
            }
            return entry.verdict
        }
    }

    func put(_ key: String, _ verdict: Verdict) {
        let now = ContinuousClock.now
        entries.withLock { entries in
            if entries.count >= capacity {
                entries = entries.filter { $0.value.until > now }
                if entries.count >= capacity { entries.removeAll() }
            }
            entries[key] = (verdict, now + lifetime)
        }
    }
}
