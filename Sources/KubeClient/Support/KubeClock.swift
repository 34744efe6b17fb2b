import Foundation

/// A point in monotonic time: how long after its clock's origin. Only instants of the same clock compare
/// meaningfully; the origin itself means nothing (for `SystemClock` it is the first reading in the process).
public struct MonotonicInstant: InstantProtocol, Sendable, CustomStringConvertible {
    public var sinceOrigin: Duration

    public init(sinceOrigin: Duration) {
        self.sinceOrigin = sinceOrigin
    }

    public func advanced(by duration: Duration) -> MonotonicInstant {
        MonotonicInstant(sinceOrigin: sinceOrigin + duration)
    }

    public func duration(to other: MonotonicInstant) -> Duration {
        other.sinceOrigin - sinceOrigin
    }

    public static func < (lhs: MonotonicInstant, rhs: MonotonicInstant) -> Bool {
        lhs.sinceOrigin < rhs.sinceOrigin
    }

    public var description: String { "T+\(sinceOrigin)" }
}

/// The time source of everything here that waits, times out or stamps: leader election, the event
/// recorder, the rate limiter, and (next) the controller's deadlines and backoff. Code takes `any KubeClock`
/// so that tests can drive time with `ManualClock` instead of waiting for it.
///
/// Two readings, for two jobs, as client-go's clocks have them: `now` is monotonic and is the only one used
/// to measure intervals (lease expiry, deadlines, token refill), so wall-clock steps cannot shorten or stretch
/// them; `wallTime` is for the timestamps the API stores (a Lease's renewTime, an Event's lastTimestamp),
/// which people and other processes read.
public protocol KubeClock: Clock where Instant == MonotonicInstant {
    /// Wall-clock time, for timestamps written to the API; never for measuring intervals.
    var wallTime: Date { get }

    /// Runs `operation` and cancels it once the clock reaches `deadline`, throwing `DeadlineExceeded` then
    /// (client-go's context.WithTimeout). The operation must honour cancellation for the deadline to bite.
    func withDeadline<T: Sendable>(_ deadline: MonotonicInstant,
                                   _ operation: @escaping @Sendable () async throws -> T) async throws -> T
}

extension KubeClock {
    public func withDeadline<T: Sendable>(_ deadline: MonotonicInstant,
                                          _ operation: @escaping @Sendable () async throws -> T) async throws -> T {
        try await race(operation, deadline: deadline) { try await self.sleep(until: deadline, tolerance: nil) }
    }

    /// `withDeadline` with a deadline this far from now.
    public func withTimeout<T: Sendable>(_ timeout: Duration,
                                         _ operation: @escaping @Sendable () async throws -> T) async throws -> T {
        try await withDeadline(now.advanced(by: timeout), operation)
    }
}

/// Runs `operation` against `waitForDeadline`: the first to finish wins and the other is cancelled.
func race<T: Sendable>(_ operation: @escaping @Sendable () async throws -> T, deadline: MonotonicInstant,
                       waitForDeadline: @escaping @Sendable () async throws -> Void) async throws -> T {
    try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask { try await operation() }
        group.addTask {
            try await waitForDeadline()
            return nil
        }
        defer { group.cancelAll() }
        // The group has two children, so the first `next()` returns a result or throws.
        guard let first = try await group.next(), let value = first else {
            throw DeadlineExceeded(deadline: deadline)
        }
        return value
    }
}

/// An operation run with `withDeadline` did not finish before the clock reached its deadline.
public struct DeadlineExceeded: Error, CustomStringConvertible, Sendable, Equatable {
    public var deadline: MonotonicInstant

    public init(deadline: MonotonicInstant) {
        self.deadline = deadline
    }

    public var description: String { "the deadline \(deadline) passed before the operation finished" }
}

/// The process's clocks: `ContinuousClock` for monotonic time (it keeps counting while the machine
/// sleeps, as a lease's expiry does on the server) and `Date()` for wall time.
public struct SystemClock: KubeClock {
    /// One origin for every `SystemClock` value, so that their instants compare.
    private static let origin = ContinuousClock.now

    public init() {}

    public var now: MonotonicInstant { MonotonicInstant(sinceOrigin: ContinuousClock.now - Self.origin) }
    public var wallTime: Date { Date() }
    public var minimumResolution: Duration { ContinuousClock().minimumResolution }

    public func sleep(until deadline: MonotonicInstant, tolerance: Duration? = nil) async throws {
        try await ContinuousClock().sleep(until: Self.origin.advanced(by: deadline.sinceOrigin), tolerance: tolerance)
    }
}

extension Duration {
    /// The duration in (fractional) seconds, for rates and jitter.
    var inSeconds: Double {
        Double(components.seconds) + Double(components.attoseconds) * 1e-18
    }
}
