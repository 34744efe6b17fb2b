/// A token bucket over instants the caller brings: `rate` tokens a second, holding at most `burst`. Plain
/// state, no clock and no lock, so the request rate limiter (which waits) and the event spam filter (which
/// drops) share the arithmetic.
struct TokenBucket: Sendable {
    let rate: Double
    let burst: Double
    /// Below zero when callers have reserved tokens that have not been refilled yet.
    private(set) var tokens: Double
    private var updatedAt: MonotonicInstant

    /// A full bucket at `now`.
    init(rate: Double, burst: Int, now: MonotonicInstant) {
        self.rate = rate
        self.burst = Double(burst)
        self.tokens = Double(burst)
        self.updatedAt = now
    }

    /// Takes a token if there is one at `now` (client-go's `TryAccept`).
    mutating func tryTake(at now: MonotonicInstant) -> Bool {
        refill(to: now)
        guard tokens >= 1 else { return false }
        tokens -= 1
        return true
    }

    /// Takes the next token, going into debt if there is none: returns when it is (or was) there, so callers
    /// served in order sleep until their own turn (x/time/rate's `Reserve`).
    mutating func reserve(at now: MonotonicInstant) -> MonotonicInstant {
        refill(to: now)
        tokens -= 1
        return tokens >= 0 ? now : now.advanced(by: .seconds(-tokens / rate))
    }

    private mutating func refill(to now: MonotonicInstant) {
        guard now > updatedAt else { return }
        tokens = min(burst, tokens + updatedAt.duration(to: now).inSeconds * rate)
        updatedAt = now
    }
}
