import KubeJSON
import Logging
import Synchronization

/// Leader election on a lock, with client-go's leaderelection semantics.
///
/// Contenders never compare their clocks: each notes, by its own monotonic clock, when it last saw the
/// record change (`observedTime`) and takes the lock over only once it has seen no change for the record's
/// `leaseDurationSeconds`. The leader renews every `retryPeriod`; when a renewal has not succeeded within
/// `renewDeadline` it stops leading. A leader stops at most `retryPeriod + renewDeadline` after its last
/// renewal returned; a contender starts at least `leaseDuration` after it read that renewal. So with
/// `leaseDuration > renewDeadline + retryPeriod` (the defaults: 15 > 10 + 2), clocks that run at about the
/// same rate, and requests faster than the difference, the old leader has stopped before anyone may start.
/// Writes are conditional on the resourceVersion read, so two contenders never both acquire.
///
/// Where this differs from client-go, on purpose: `run()` contends again after losing the lease (client-go
/// returns; cancel from `onStoppedLeading` for that); `onStoppedLeading` is called only after leading
/// started, and after the `onStartedLeading` task returned; the lease is released only after that too, so
/// the guarded work has ended before anyone else may start it; records are compared whole, to the
/// microsecond, where client-go compares their JSON at whole seconds.
public final class LeaderElector: Sendable {
    private struct Observation {
        /// The record last read or written (client-go's observedRecord) and when, by the local clock.
        var record: LeaderElectionRecord?
        var time = MonotonicInstant(sinceOrigin: .zero)
        /// The record as last read (observedRawRecord): a change restarts the wait for expiry.
        var lastRead: LeaderElectionRecord?
        var reportedLeader = ""
        var leading = false
        var running = false
    }

    private enum Ending { case lost, cancelled }

    public let config: LeaderElectionConfig
    private let observation = Mutex(Observation())
    private let logger: Logger

    private var lock: any LeaderLock { config.lock }
    private var clock: any KubeClock { config.clock }

    public init(config: LeaderElectionConfig, logger: Logger = Logger(label: "conductor.leaderelection")) throws(LeaderElectionConfigError) {
        try config.validate()
        self.config = config
        var logger = logger
        logger[metadataKey: "lock"] = "\(config.lock)"
        logger[metadataKey: "identity"] = "\(config.lock.identity)"
        self.logger = logger
        // client-go accepts this too, so it is not refused; but it leaves no margin for the guarantee above.
        if config.leaseDuration <= config.renewDeadline + config.retryPeriod {
            logger.warning("leaseDuration is not greater than renewDeadline + retryPeriod: a leader that cannot renew may still lead when another takes over",
                           metadata: ["leaseDuration": "\(config.leaseDuration)", "renewDeadline": "\(config.renewDeadline)",
                                      "retryPeriod": "\(config.retryPeriod)"])
        }
    }

    /// Whether this elector leads by its own account: from just before `onStartedLeading` until leading
    /// stops. (client-go's IsLeader only says whether the last record seen names this elector.)
    public var isLeader: Bool { observation.withLock { $0.leading } }

    /// The holder in the record seen last; nil before the first read (client-go's GetLeader).
    public var leader: String? { observation.withLock { $0.record?.holderIdentity } }

    /// Contends for the lock and leads when it holds it, until the calling task is cancelled: then it stops
    /// leading (releasing the lease if `releaseOnCancel`) and returns. Throws only if it is already running.
    public func run() async throws(LeaderElectionError) {
        let started = observation.withLock { observation in
            defer { observation.running = true }
            return !observation.running
        }
        guard started else { throw .alreadyRunning(lock: lock.description) }
        defer { observation.withLock { $0.running = false } }

        while await acquire() {
            if await lead() == .cancelled { return }
        }
    }

    // MARK: Contending

    /// Tries every jittered retry period until the lock is acquired (true) or the task is cancelled (false).
    private func acquire() async -> Bool {
        logger.info("attempting to acquire the leader lease")
        while !Task.isCancelled {
            let acquired = await tryAcquireOrRenew()
            reportNewLeader()
            if acquired {
                logger.info("acquired the leader lease")
                return true
            }
            logger.trace("the lease is held by another contender", metadata: ["holder": "\(leader ?? "")"])
            // client-go's wait.JitterUntil(retryPeriod, JitterFactor, sliding).
            let pause = config.retryPeriod * (1 + Double.random(in: 0..<1) * LeaderElectionConfig.jitterFactor)
            do { try await clock.sleep(for: pause) } catch { return false }
        }
        return false
    }

    /// Leads until a renewal fails or the task is cancelled, with the leader's work in a child task.
    private func lead() async -> Ending {
        observation.withLock { $0.leading = true }
        let ending = await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.config.callbacks.onStartedLeading() }
            let ending = await renew()
            // Leading ends here, before anything else: a contender's clock may be counting toward takeover.
            observation.withLock { $0.leading = false }
            group.cancelAll()
            await group.waitForAll()
            return ending
        }
        logger.info(ending == .lost ? "stopped leading: the lease was not renewed in time" : "stopped leading: cancelled")
        config.callbacks.onStoppedLeading()
        if ending == .cancelled && config.releaseOnCancel {
            // The calling task is cancelled, and a request made in it would be cancelled at once.
            await Task { await self.release() }.value
        }
        return ending
    }

    /// Renews every retry period; each renewal is retried until `renewDeadline` (client-go's wait.Until of
    /// wait.PollImmediateUntil under a context with that timeout).
    private func renew() async -> Ending {
        while true {
            let renewed = await renewBeforeDeadline(clock.now.advanced(by: config.renewDeadline))
            reportNewLeader()
            if Task.isCancelled { return .cancelled }
            guard renewed else { return .lost }
            do { try await clock.sleep(for: config.retryPeriod) } catch { return .cancelled }
        }
    }

    /// Tries at once and then on a `retryPeriod` ticker, each try cut off at `deadline`; false once the
    /// deadline has passed without a success.
    private func renewBeforeDeadline(_ deadline: MonotonicInstant) async -> Bool {
        var nextTick = clock.now
        while !Task.isCancelled {
            let renewed = (try? await clock.withDeadline(deadline) { await self.tryAcquireOrRenew() }) ?? false
            if renewed { return true }
            // A ticker skips the ticks a slow try missed.
            let now = clock.now
            while nextTick <= now { nextTick = nextTick.advanced(by: config.retryPeriod) }
            do { try await clock.sleep(until: min(nextTick, deadline), tolerance: nil) } catch { return false }
            if clock.now >= deadline {
                logger.warning("failed to renew the leader lease within the renew deadline", metadata: ["renewDeadline": "\(config.renewDeadline)"])
                return false
            }
        }
        return false
    }

    /// One try (client-go's tryAcquireOrRenew): renews if this elector holds the lock, acquires it if it is
    /// free or has expired by the local clock, and otherwise notes what it saw. True if it holds it now.
    private func tryAcquireOrRenew() async -> Bool {
        let now = clock.now
        let stamp = KubeTimestamp.microTime(clock.wallTime)
        var record = LeaderElectionRecord(holderIdentity: lock.identity, leaseDurationSeconds: Int(config.leaseDuration.components.seconds),
                                          acquireTime: stamp, renewTime: stamp, leaderTransitions: 0)

        // 1. The fast path: the leader writes over the record it wrote last, which still holds if nobody else
        // wrote (and if somebody did, the write is refused and the slow path reads what they wrote).
        if let held = observedRecordIfHeld(validAt: now) {
            record.acquireTime = held.acquireTime
            record.leaderTransitions = held.leaderTransitions
            do {
                try await lock.update(record)
                observe(written: record)
                return true
            } catch {
                if Task.isCancelled { return false }
                logger.info("failed to renew the lease optimistically; reading it again", metadata: ["error": "\(error)"])
            }
        }

        // 2. Read the record, or create it if there is none.
        let current: LeaderElectionRecord
        do {
            guard let existing = try await lock.get() else {
                try await lock.create(record)
                observe(written: record)
                return true
            }
            current = existing
        } catch {
            if !Task.isCancelled { logger.warning("cannot read or create the leader lease", metadata: ["error": "\(error)"]) }
            return false
        }

        // 3. A changed record restarts the wait; an unexpired one held by another is left alone.
        let holdsIt = observe(read: current)
        if !current.holderIdentity.isEmpty && isValid(at: now) && !holdsIt {
            return false
        }

        // 4. Take it over (or renew it after the fast path failed).
        if holdsIt {
            record.acquireTime = current.acquireTime
            record.leaderTransitions = current.leaderTransitions
        } else {
            record.leaderTransitions = current.leaderTransitions + 1
        }
        do {
            try await lock.update(record)
        } catch {
            if !Task.isCancelled { logger.info("failed to update the leader lease", metadata: ["error": "\(error)"]) }
            return false
        }
        observe(written: record)
        return true
    }

    /// Gives the lease up (client-go's release): no holder, a one-second duration, so that the next try of any
    /// contender acquires it. Only if the record seen last is this elector's.
    private func release() async {
        guard let held = observation.withLock({ $0.record }), held.holderIdentity == lock.identity else { return }
        let stamp = KubeTimestamp.microTime(clock.wallTime)
        let released = LeaderElectionRecord(holderIdentity: "", leaseDurationSeconds: 1, acquireTime: stamp, renewTime: stamp,
                                            leaderTransitions: held.leaderTransitions)
        do {
            try await lock.update(released)
        } catch {
            // The write went over the version last seen; a renewal that the cancellation cut short may have
            // landed meanwhile and moved the Lease on. Read it again and, still ours, give it up from there.
            do {
                guard let current = try await lock.get(), current.holderIdentity == lock.identity else {
                    logger.info("the leader lease was no longer ours to release", metadata: ["error": "\(error)"])
                    return
                }
                try await lock.update(released)
            } catch {
                logger.error("failed to release the leader lease", metadata: ["error": "\(error)"])
                return
            }
        }
        observe(written: released)
        logger.info("released the leader lease")
    }

    // MARK: Observation

    /// The record seen last if it names this elector and has not expired by the local clock at `now`.
    private func observedRecordIfHeld(validAt now: MonotonicInstant) -> LeaderElectionRecord? {
        observation.withLock { observation in
            guard let record = observation.record, record.holderIdentity == lock.identity,
                  Self.isValid(observation, at: now) else { return nil }
            return record
        }
    }

    private func isValid(at now: MonotonicInstant) -> Bool {
        observation.withLock { Self.isValid($0, at: now) }
    }

    /// client-go's isLeaseValid: observedTime + the record's own leaseDurationSeconds is after now.
    private static func isValid(_ observation: Observation, at now: MonotonicInstant) -> Bool {
        observation.time.advanced(by: .seconds(observation.record?.leaseDurationSeconds ?? 0)) > now
    }

    private func observe(written record: LeaderElectionRecord) {
        let now = clock.now
        observation.withLock { observation in
            observation.record = record
            observation.time = now
        }
    }

    /// Notes a record read from the lock, restarting the expiry wait if it changed since the last read; true
    /// if the record seen (now or before) names this elector.
    private func observe(read record: LeaderElectionRecord) -> Bool {
        let now = clock.now
        return observation.withLock { observation in
            if observation.lastRead != record {
                observation.record = record
                observation.time = now
                observation.lastRead = record
            }
            return observation.record?.holderIdentity == lock.identity
        }
    }

    /// client-go's maybeReportTransition.
    private func reportNewLeader() {
        let newLeader: String? = observation.withLock { observation in
            let holder = observation.record?.holderIdentity ?? ""
            guard holder != observation.reportedLeader else { return nil }
            observation.reportedLeader = holder
            return holder
        }
        if let newLeader {
            logger.info("new leader observed", metadata: ["leader": "\(newLeader)"])
            config.callbacks.onNewLeader(newLeader)
        }
    }
}
