/// How an elector contends, with client-go's meanings and defaults (15 s, 10 s, 2 s).
public struct LeaderElectionConfig: Sendable {
    /// client-go's JitterFactor: contenders wait between one and 2.2 retry periods between tries, and the
    /// renew deadline must leave room for more than one jittered try.
    public static let jitterFactor = 1.2

    public var lock: any LeaderLock
    /// How long a contender waits, from the last change of the record it saw (by its own clock), before it
    /// may take the lock over. Written to the Lease in whole seconds.
    public var leaseDuration: Duration
    /// How long the leader keeps retrying a renewal before it stops leading.
    public var renewDeadline: Duration
    /// The pause between tries.
    public var retryPeriod: Duration
    /// Give the lease up when `run()` is cancelled, so that another contender takes over at its next try
    /// instead of after `leaseDuration`. The elector waits for `onStartedLeading` to return first.
    public var releaseOnCancel: Bool
    public var callbacks: LeaderCallbacks
    public var clock: any KubeClock

    public init(lock: any LeaderLock, leaseDuration: Duration = .seconds(15), renewDeadline: Duration = .seconds(10),
                retryPeriod: Duration = .seconds(2), releaseOnCancel: Bool = false, callbacks: LeaderCallbacks = LeaderCallbacks(),
                clock: any KubeClock = SystemClock()) {
        self.lock = lock
        self.leaseDuration = leaseDuration
        self.renewDeadline = renewDeadline
        self.retryPeriod = retryPeriod
        self.releaseOnCancel = releaseOnCancel
        self.callbacks = callbacks
        self.clock = clock
    }

    /// client-go's checks in NewLeaderElector, plus one of ours: the Lease stores the duration in whole
    /// seconds, and a duration under a second would be written as 0, an already expired lease.
    public func validate() throws(LeaderElectionConfigError) {
        for (parameter, value) in [("leaseDuration", leaseDuration), ("renewDeadline", renewDeadline), ("retryPeriod", retryPeriod)]
        where value <= .zero {
            throw .notPositive(parameter: parameter, value: value)
        }
        guard leaseDuration > renewDeadline else {
            throw .leaseDurationNotAboveRenewDeadline(leaseDuration: leaseDuration, renewDeadline: renewDeadline)
        }
        guard renewDeadline > retryPeriod * Self.jitterFactor else {
            throw .renewDeadlineNotAboveJitteredRetryPeriod(renewDeadline: renewDeadline, retryPeriod: retryPeriod)
        }
        guard leaseDuration >= .seconds(1) else {
            throw .leaseDurationUnderOneSecond(leaseDuration)
        }
        guard !lock.identity.isEmpty else {
            throw .emptyIdentity(lock: lock.description)
        }
    }
}

/// What the elector tells its owner, as client-go's LeaderCallbacks.
public struct LeaderCallbacks: Sendable {
    /// Runs once the lease is acquired, in a child task of `run()` that is cancelled when leading stops: the
    /// work the lease guards goes here. The elector waits for it to return before it calls
    /// `onStoppedLeading`, releases the lease or contends again, so it must end soon after cancellation.
    public var onStartedLeading: @Sendable () async -> Void
    /// Called when leading has stopped (a renewal did not succeed within the renew deadline, or `run()` was
    /// cancelled), after `onStartedLeading` returned; never without an `onStartedLeading` before it.
    public var onStoppedLeading: @Sendable () -> Void
    /// Called with each holder this elector observes that differs from the one it reported last, the first
    /// and itself included; "" once a released lease is observed.
    public var onNewLeader: @Sendable (String) -> Void

    public init(onStartedLeading: @escaping @Sendable () async -> Void = {}, onStoppedLeading: @escaping @Sendable () -> Void = {},
                onNewLeader: @escaping @Sendable (String) -> Void = { _ in }) {
        self.onStartedLeading = onStartedLeading
        self.onStoppedLeading = onStoppedLeading
        self.onNewLeader = onNewLeader
    }
}

/// A configuration `LeaderElector` refuses, and why.
public enum LeaderElectionConfigError: Error, Equatable, CustomStringConvertible, Sendable {
    case notPositive(parameter: String, value: Duration)
    case leaseDurationNotAboveRenewDeadline(leaseDuration: Duration, renewDeadline: Duration)
    case renewDeadlineNotAboveJitteredRetryPeriod(renewDeadline: Duration, retryPeriod: Duration)
    case leaseDurationUnderOneSecond(Duration)
    case emptyIdentity(lock: String)

    public var description: String {
        switch self {
        case .notPositive(let parameter, let value):
            "leader election: \(parameter) must be greater than zero, not \(value)"
        case .leaseDurationNotAboveRenewDeadline(let leaseDuration, let renewDeadline):
            "leader election: leaseDuration (\(leaseDuration)) must be greater than renewDeadline (\(renewDeadline)), "
                + "so that a leader stops before a contender may take over"
        case .renewDeadlineNotAboveJitteredRetryPeriod(let renewDeadline, let retryPeriod):
            "leader election: renewDeadline (\(renewDeadline)) must be greater than retryPeriod × \(LeaderElectionConfig.jitterFactor) "
                + "(\(retryPeriod * LeaderElectionConfig.jitterFactor))"
        case .leaseDurationUnderOneSecond(let duration):
            "leader election: leaseDuration (\(duration)) must be at least one second: the Lease holds whole seconds"
        case .emptyIdentity(let lock):
            "leader election on \(lock): the lock's identity is empty"
        }
    }
}

/// A leader election that cannot go on.
public enum LeaderElectionError: Error, Equatable, CustomStringConvertible, Sendable {
    /// `run()` was called while the same elector was already running.
    case alreadyRunning(lock: String)
    /// `update` was called before `get` or `create` returned the lock object to update.
    case lockNotObserved(lock: String)

    public var description: String {
        switch self {
        case .alreadyRunning(let lock): "leader election on \(lock) is already running in another task"
        case .lockNotObserved(let lock): "cannot update the leader election lock \(lock) before reading or creating it"
        }
    }
}
