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

/// Waits for a token before each request. Each caller reserves the next token under the lock, then sleeps
/// on the clock until its time: callers are served in order and none spins.
public final class RateLimiter: Sendable {
    private let clock: any KubeClock
    private let bucket: Mutex<TokenBucket>

    public init(_ limit: RateLimit, clock: any KubeClock = SystemClock()) {
        self.clock = clock
        self.bucket = Mutex(TokenBucket(rate: limit.qps, burst: limit.burst, now: clock.now))
    }

    /// Returns once the caller may send; throws `CancellationError` if its task is cancelled while waiting
    /// (the reserved token is not given back, as before).
    public func acquire() async throws {
        let now = clock.now
        let turn = bucket.withLock { $0.reserve(at: now) }
        if turn > now {
            try await clock.sleep(until: turn, tolerance: nil)
        }
    }
}
