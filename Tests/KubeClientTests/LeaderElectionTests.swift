import Foundation
import KubeClient
import Synchronization
import Testing

/// A LeaseLock that counts the calls in flight (so that a test knows when every contender is parked on the
/// clock) and can be made to fail its writes (a leader cut off from the server).
final class ObservedLock: LeaderLock {
    private struct State {
        var inFlight = 0
        var failWrites = false
        var lastWrite: MonotonicInstant?
    }

    struct InjectedFault: Error, CustomStringConvertible {
        var description: String { "injected: the server cannot be reached" }
    }

    private let lease: LeaseLock
    private let clock: ManualClock
    private let state = Mutex(State())

    init(_ lease: LeaseLock, clock: ManualClock) {
        self.lease = lease
        self.clock = clock
    }

    var identity: String { lease.identity }
    var description: String { lease.description }
    var inFlight: Int { state.withLock { $0.inFlight } }
    /// When the last write that reached the server was made.
    var lastWrite: MonotonicInstant? { state.withLock { $0.lastWrite } }

    func failWrites() { state.withLock { $0.failWrites = true } }

    func get() async throws -> LeaderElectionRecord? {
        try await tracked(isWrite: false) { try await self.lease.get() }
    }

    func create(_ record: LeaderElectionRecord) async throws {
        try await tracked(isWrite: true) { try await self.lease.create(record) }
    }

    func update(_ record: LeaderElectionRecord) async throws {
        try await tracked(isWrite: true) { try await self.lease.update(record) }
    }

    private func tracked<T>(isWrite: Bool, _ call: () async throws -> T) async throws -> T {
        let refused = state.withLock { state in
            if isWrite && state.failWrites { return true }
            state.inFlight += 1
            return false
        }
        if refused { throw InjectedFault() }
        defer { state.withLock { $0.inFlight -= 1 } }
        let result = try await call()
        if isWrite {
            let now = clock.now
            state.withLock { $0.lastWrite = now }
        }
        return result
    }
}

/// Leadership as each contender reports it through its own callbacks, in the order they happened.
final class LeadershipLog: Sendable {
    enum Change: Equatable, Sendable { case started, stopped }

    struct Entry: Sendable {
        var identity: String
        var change: Change
        var at: MonotonicInstant
    }

    private let entries = Mutex<[Entry]>([])

    func record(_ identity: String, _ change: Change, at instant: MonotonicInstant) {
        entries.withLock { $0.append(Entry(identity: identity, change: change, at: instant)) }
    }

    var all: [Entry] { entries.withLock { $0 } }

    func isLeading(_ identity: String) -> Bool {
        all.last { $0.identity == identity }?.change == .started
    }

    func first(_ change: Change, of identity: String) -> MonotonicInstant? {
        all.first { $0.identity == identity && $0.change == change }?.at
    }

    /// The problems with the log: a start while another leads, or a stop without a start.
    var overlaps: [String] {
        var leader: String?
        var problems: [String] = []
        for entry in all {
            switch entry.change {
            case .started:
                if let leader { problems.append("\(entry.identity) started at \(entry.at) while \(leader) led") }
                leader = entry.identity
            case .stopped:
                if leader != entry.identity { problems.append("\(entry.identity) stopped at \(entry.at) without leading") }
                leader = nil
            }
        }
        return problems
    }
}

/// The leaders an elector told of through `onNewLeader`.
final class ReportedLeaders: Sendable {
    private let leaders = Mutex<[String]>([])

    func append(_ leader: String) { leaders.withLock { $0.append(leader) } }
    var all: [String] { leaders.withLock { $0 } }
}

/// One contender: its elector running in a task, and the leaders it was told of.
struct Contender {
    let identity: String
    let lock: ObservedLock
    let elector: LeaderElector
    let task: Task<Void, any Error>
    let reportedLeaders: ReportedLeaders

    var reported: [String] { reportedLeaders.all }
}

/// Contenders on one Lease of a real server, timed by one manual clock. Time moves only when every running
/// contender is parked on the clock with no call in flight, so each step is exact and nothing races it.
final class Election {
    static let leaseDuration = Duration.seconds(15)
    static let renewDeadline = Duration.seconds(10)
    static let retryPeriod = Duration.seconds(2)
    /// The longest pause of a contender that does not lead: a retry period and its jitter.
    static let longestRetry = retryPeriod * (1 + LeaderElectionConfig.jitterFactor)

    let client: KubeClient
    let leaseName: String
    let releaseOnCancel: Bool
    let clock = ManualClock()
    let log = LeadershipLog()
    private(set) var running: [Contender] = []

    init(client: KubeClient, leaseName: String, releaseOnCancel: Bool) {
        self.client = client
        self.leaseName = leaseName
        self.releaseOnCancel = releaseOnCancel
    }

    func start(_ identity: String) throws -> Contender {
        let lock = ObservedLock(LeaseLock(client: client, namespace: "default", name: leaseName, identity: identity), clock: clock)
        let reported = ReportedLeaders()
        let (log, clock) = (log, clock)
        let callbacks = LeaderCallbacks(
            onStartedLeading: {
                log.record(identity, .started, at: clock.now)
                // The guarded work: runs until leading stops.
                try? await Task.sleep(for: .seconds(3600))
            },
            onStoppedLeading: { log.record(identity, .stopped, at: clock.now) },
            onNewLeader: { reported.append($0) })
        let config = LeaderElectionConfig(lock: lock, leaseDuration: Self.leaseDuration, renewDeadline: Self.renewDeadline,
                                          retryPeriod: Self.retryPeriod, releaseOnCancel: releaseOnCancel, callbacks: callbacks, clock: clock)
        let elector = try LeaderElector(config: config)
        let contender = Contender(identity: identity, lock: lock, elector: elector, task: Task { try await elector.run() },
                                  reportedLeaders: reported)
        running.append(contender)
        return contender
    }

    /// Cancels the contender's `run()` and waits for it to return.
    func stop(_ contender: Contender) async throws {
        contender.task.cancel()
        try await contender.task.value
        running.removeAll { $0.identity == contender.identity }
    }

    func stopAll() async throws {
        for contender in running { try await stop(contender) }
    }

    /// Waits until every running contender sleeps on the clock, no lock call is in flight, and each
    /// contender's callbacks agree with its `isLeader`.
    func settle() async throws {
        try await waitUntil("every contender is parked on the clock", poll: .milliseconds(2)) {
            clock.sleeperCount == running.count
                && running.allSatisfy { $0.lock.inFlight == 0 && $0.elector.isLeader == log.isLeading($0.identity) }
        }
        let leaders = running.filter(\.elector.isLeader).map(\.identity)
        #expect(leaders.count <= 1, "two leaders at \(clock.now): \(leaders)")
    }

    /// Moves the clock to the next wake-up and lets everyone settle, until `condition` holds.
    func advance(until what: String, maxSteps: Int = 100, _ condition: () -> Bool) async throws {
        for _ in 0..<maxSteps {
            if condition() { return }
            guard clock.advanceToNextWakeUp() != nil else { throw TestFailure("nobody sleeps on the clock: \(what) cannot happen") }
            try await settle()
        }
        if !condition() { throw TestFailure("\(what) did not happen within \(maxSteps) steps (at \(clock.now))") }
    }

    func advance(by duration: Duration) async throws {
        let end = clock.now.advanced(by: duration)
        try await advance(until: "\(duration) pass") { clock.nextWakeUp.map { $0 > end } ?? true }
    }

    func lease() async throws -> Lease {
        try await client.resource(Lease.self, namespace: "default").get(leaseName)
    }
}

/// Runs `body` on a fresh server with contenders a and b on the Lease `leaseName`, a leading (it started
/// first) and b following; stops whichever still run afterwards.
func withElection(_ leaseName: String, releaseOnCancel: Bool,
                  _ body: (Election, Contender, Contender) async throws -> Void) async throws {
    try await withServer { _, client in
        let election = Election(client: client, leaseName: leaseName, releaseOnCancel: releaseOnCancel)
        do {
            let a = try election.start("a")
            try await election.settle()
            let b = try election.start("b")
            try await election.settle()
            try await body(election, a, b)
        } catch {
            try? await election.stopAll()
            throw error
        }
        try await election.stopAll()
    }
}

// A wait here that cancellation ends cannot hold the run: the suite fails in time instead.
@Suite(.timeLimit(.minutes(2))) struct LeaderElection {
    @Test func aReleaseOverAnOutdatedVersionReadsTheLeaseAgainAndStillReleasesIt() async throws {
        try await withElection("moved-on", releaseOnCancel: true) { election, a, _ in
            // Someone writes the Lease while a holds it (as a renewal cut short by the cancellation would have):
            // the version a saw last is outdated when it releases.
            var touched = try await election.lease()
            touched.metadata.annotations = ["test/touched": "true"]
            _ = try await election.client.resource(Lease.self, namespace: "default").update(touched)
            try await election.stop(a)
            let released = try await election.lease()
            #expect(released.spec?.holderIdentity == "" && released.spec?.leaseDurationSeconds == 1)
            #expect(released.metadata.annotations?["test/touched"] == "true")
        }
    }

    @Test func exactlyOneLeadsAndReleaseOnCancelHandsOverAtOnce() async throws {
        try await withElection("released", releaseOnCancel: true) { election, a, b in
            #expect(a.elector.isLeader && a.elector.leader == "a")
            #expect(!b.elector.isLeader)
            #expect(b.reported == ["a"])
            await #expect(throws: LeaderElectionError.alreadyRunning(lock: "default/released")) { try await a.elector.run() }

            let acquired = try await election.lease()
            try await election.advance(by: .seconds(30))
            let renewed = try await election.lease()
            #expect(renewed.spec?.holderIdentity == "a")
            #expect(renewed.spec?.leaseDurationSeconds == 15)
            #expect(renewed.spec?.leaseTransitions == 0)
            #expect(renewed.spec?.acquireTime == acquired.spec?.acquireTime)
            #expect(renewed.spec?.renewTime != acquired.spec?.renewTime)
            // MicroTime as Go writes it: microseconds and Z.
            #expect(renewed.spec?.renewTime?.wholeMatch(of: /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z/) != nil, "\(renewed.spec?.renewTime ?? "nil")")

            let cancelledAt = election.clock.now
            try await election.stop(a)
            #expect(election.log.all.last?.identity == "a" && election.log.all.last?.change == .stopped)
            let released = try await election.lease()
            #expect(released.spec?.holderIdentity == "")
            #expect(released.spec?.leaseDurationSeconds == 1)

            try await election.advance(until: "b leads") { b.elector.isLeader }
            let takeover = try #require(election.log.first(.started, of: "b"))
            #expect(cancelledAt.duration(to: takeover) <= Election.longestRetry, "b waited for the lease to expire after a release")
            let taken = try await election.lease()
            #expect(taken.spec?.holderIdentity == "b")
            #expect(taken.spec?.leaseTransitions == 1)
            #expect(b.reported.last == "b")
            #expect(election.log.overlaps.isEmpty, "\(election.log.overlaps)")
        }
    }

    @Test func leaderThatCannotRenewStopsBeforeTheOtherStarts() async throws {
        try await withElection("cut-off", releaseOnCancel: true) { election, a, b in
            try await election.advance(by: .seconds(10))
            #expect(a.elector.isLeader && !b.elector.isLeader)

            // a is parked after a renewal; from now on its writes fail.
            a.lock.failWrites()
            let lastRenewal = try #require(a.lock.lastWrite)
            try await election.advance(until: "b leads") { b.elector.isLeader }

            let stopped = try #require(election.log.first(.stopped, of: "a"))
            let started = try #require(election.log.first(.started, of: "b"))
            // a gives up when the renewal that follows its last one has failed for the renew deadline…
            #expect(stopped == lastRenewal.advanced(by: Election.retryPeriod + Election.renewDeadline))
            // …and b, by its own clock, waits out the lease duration from the last renewal it saw.
            #expect(started >= lastRenewal.advanced(by: Election.leaseDuration))
            #expect(started <= lastRenewal.advanced(by: Election.leaseDuration + Election.longestRetry * 2))
            #expect(stopped < started)
            #expect(election.log.overlaps.isEmpty, "\(election.log.overlaps)")

            let taken = try await election.lease()
            #expect(taken.spec?.holderIdentity == "b")
            #expect(taken.spec?.leaseTransitions == 1)
            // a keeps contending and learns of the new leader by reading the lease.
            try await election.advance(until: "a sees b lead") { a.reported.last == "b" }
            #expect(!a.elector.isLeader && b.elector.isLeader)
            #expect(a.reported == ["a", "b"])
        }
    }

    @Test func cancelWithoutReleaseHandsOverOnlyAfterTheLeaseDuration() async throws {
        try await withElection("abandoned", releaseOnCancel: false) { election, a, b in
            try await election.advance(by: .seconds(6))

            let lastRenewal = try #require(a.lock.lastWrite)
            try await election.stop(a)
            #expect(election.log.isLeading("a") == false)
            #expect(try await election.lease().spec?.holderIdentity == "a", "the lease was released")

            try await election.advance(until: "b leads") { b.elector.isLeader }
            let started = try #require(election.log.first(.started, of: "b"))
            #expect(started >= lastRenewal.advanced(by: Election.leaseDuration))
            #expect(started <= lastRenewal.advanced(by: Election.leaseDuration + Election.longestRetry * 2))
            #expect(try await election.lease().spec?.holderIdentity == "b")
            #expect(election.log.overlaps.isEmpty, "\(election.log.overlaps)")
        }
    }

    @Test func configurationIsCheckedAsClientGoChecksIt() throws {
        struct Unreachable: LeaderLock {
            var identity: String
            var description: String { "default/unreachable" }
            func get() async throws -> LeaderElectionRecord? { nil }
            func create(_ record: LeaderElectionRecord) async throws {}
            func update(_ record: LeaderElectionRecord) async throws {}
        }
        let lock = Unreachable(identity: "me")
        #expect(throws: Never.self) { try LeaderElectionConfig(lock: lock).validate() }
        #expect(throws: LeaderElectionConfigError.leaseDurationNotAboveRenewDeadline(leaseDuration: .seconds(10), renewDeadline: .seconds(10))) {
            try LeaderElectionConfig(lock: lock, leaseDuration: .seconds(10)).validate()
        }
        // 10 s is not more than 9 s × 1.2.
        #expect(throws: LeaderElectionConfigError.renewDeadlineNotAboveJitteredRetryPeriod(renewDeadline: .seconds(10), retryPeriod: .seconds(9))) {
            try LeaderElectionConfig(lock: lock, retryPeriod: .seconds(9)).validate()
        }
        #expect(throws: LeaderElectionConfigError.notPositive(parameter: "retryPeriod", value: .zero)) {
            try LeaderElectionConfig(lock: lock, retryPeriod: .zero).validate()
        }
        #expect(throws: LeaderElectionConfigError.leaseDurationUnderOneSecond(.milliseconds(900))) {
            try LeaderElectionConfig(lock: lock, leaseDuration: .milliseconds(900), renewDeadline: .milliseconds(500),
                                     retryPeriod: .milliseconds(100)).validate()
        }
        #expect(throws: LeaderElectionConfigError.emptyIdentity(lock: "default/unreachable")) {
            _ = try LeaderElector(config: LeaderElectionConfig(lock: Unreachable(identity: "")))
        }
        #expect("\(LeaderElectionConfigError.leaseDurationNotAboveRenewDeadline(leaseDuration: .seconds(1), renewDeadline: .seconds(2)))"
            .contains("leaseDuration"))
    }
}
