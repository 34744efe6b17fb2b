import Synchronization

/// Client-side limit on requests: `qps` on average, up to `burst` at once (client-go's token bucket).
public struct RateLimit: Sendable, Equatable {
    public var qps: Double
    public var burst: Int

    public init(qps: Double, burst: Int) {
        precondition(qps > 0 && burst > 0, "a rate limit needs qps > 0 and burst > 0")
        self.qps = qps
        self.burst = burst
    }
}

/// A token bucket. Each caller reserves the next token under the lock, then sleeps until its time: callers
/// are served in order and none spins.
final class RateLimiter: Sendable {
    private struct Bucket {
        var tokens: Double
        var updatedAt: ContinuousClock.Instant
    }

    private let limit: RateLimit
    private let bucket: Mutex<Bucket>

    init(_ limit: RateLimit) {
        self.limit = limit
        self.bucket = Mutex(Bucket(tokens: Double(limit.burst), updatedAt: .now))
    }

    func acquire() async throws {
        let now = ContinuousClock.now
        let wait: Duration = bucket.withLock { bucket in
            let elapsed = now - bucket.updatedAt
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            bucket.tokens = min(Double(limit.burst), bucket.tokens + seconds * limit.qps)
            bucket.updatedAt = now
            bucket.tokens -= 1
            return bucket.tokens >= 0 ? .zero : .seconds(-bucket.tokens / limit.qps)
        }
        if wait > .zero {
            try await Task.sleep(for: wait)
        }
    }
}
