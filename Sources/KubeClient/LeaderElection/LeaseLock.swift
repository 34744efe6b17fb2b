import Synchronization

/// What a lock holds about the election (client-go's resourcelock.LeaderElectionRecord): who leads, for how
/// long each renewal counts, and when. Times are MicroTime text, kept as the server returned them: contenders
/// never trust them as clock readings, they only notice when they change.
public struct LeaderElectionRecord: Sendable, Equatable {
    /// Empty when nobody holds the lock (after a release).
    public var holderIdentity: String
    public var leaseDurationSeconds: Int
    public var acquireTime: String?
    public var renewTime: String?
    public var leaderTransitions: Int

    public init(holderIdentity: String, leaseDurationSeconds: Int, acquireTime: String?, renewTime: String?, leaderTransitions: Int) {
        self.holderIdentity = holderIdentity
        self.leaseDurationSeconds = leaseDurationSeconds
        self.acquireTime = acquireTime
        self.renewTime = renewTime
        self.leaderTransitions = leaderTransitions
    }

    /// A Lease's spec as a record; absent fields read as client-go reads them (empty, zero).
    public init(_ spec: Lease.Spec?) {
        self.init(holderIdentity: spec?.holderIdentity ?? "", leaseDurationSeconds: spec?.leaseDurationSeconds ?? 0,
                  acquireTime: spec?.acquireTime, renewTime: spec?.renewTime, leaderTransitions: spec?.leaseTransitions ?? 0)
    }

    public var leaseSpec: Lease.Spec {
        Lease.Spec(holderIdentity: holderIdentity, leaseDurationSeconds: leaseDurationSeconds, acquireTime: acquireTime,
                   renewTime: renewTime, leaseTransitions: leaderTransitions)
    }
}

/// The object an election is held on (client-go's resourcelock.Interface). `update` must be conditional on
/// the version `get`, `create` or the last `update` returned, so that of two contenders writing from the
/// same state only one succeeds.
public protocol LeaderLock: Sendable, CustomStringConvertible {
    /// Who this contender is; written as the holder when it leads.
    var identity: String { get }
    /// The record, or nil when the lock object does not exist.
    func get() async throws -> LeaderElectionRecord?
    func create(_ record: LeaderElectionRecord) async throws
    func update(_ record: LeaderElectionRecord) async throws
}

/// A coordination.k8s.io/v1 Lease as the lock.
public final class LeaseLock: LeaderLock {
    public let namespace: String
    public let name: String
    public let identity: String
    private let leases: ResourceClient<Lease>
    /// The Lease as the server last returned it: `update` writes over it, so the write carries its
    /// resourceVersion and fails with 409 Conflict if anyone wrote in between.
    private let observed = Mutex<Lease?>(nil)

    public init(client: KubeClient, namespace: String, name: String, identity: String) {
        self.namespace = namespace
        self.name = name
        self.identity = identity
        self.leases = client.resource(Lease.self, namespace: namespace)
    }

    public var description: String { "\(namespace)/\(name)" }

    public func get() async throws -> LeaderElectionRecord? {
        let lease: Lease
        do {
            lease = try await leases.get(name)
        } catch let error as KubeAPIError where error.reason == .notFound {
            return nil
        }
        observed.withLock { $0 = lease }
        return LeaderElectionRecord(lease.spec)
    }

    public func create(_ record: LeaderElectionRecord) async throws {
        let created = try await leases.create(Lease(metadata: ObjectMeta(name: name, namespace: namespace), spec: record.leaseSpec))
        observed.withLock { $0 = created }
    }

    public func update(_ record: LeaderElectionRecord) async throws {
        guard var lease = observed.withLock({ $0 }) else {
            throw LeaderElectionError.lockNotObserved(lock: description)
        }
        lease.spec = record.leaseSpec
        let updated = try await leases.update(lease)
        observed.withLock { $0 = updated }
    }
}
