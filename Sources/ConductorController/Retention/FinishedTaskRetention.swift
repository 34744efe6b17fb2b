import ConductorAPI

/// How long a finished task is kept: its own `spec.ttlSecondsAfterFinished`, else the controller's default,
/// counted from its `status.completionTime` (as Kubernetes' TTL-after-finished controller counts a Job's). Pure,
/// with the time passed in.
public struct FinishedTaskRetention: Sendable, Hashable {
    /// For tasks that set no TTL of their own.
    public var defaultTTL: Duration

    public static let defaultTTLSeconds = 24 * 3600

    public init(defaultTTL: Duration = .seconds(FinishedTaskRetention.defaultTTLSeconds)) {
        self.defaultTTL = defaultTTL
    }

    /// When `task` is due for deletion; nil while it is not final. A final task without a completion time (a
    /// writer that did not set one) counts from `observedFinal`, when this controller first saw it final.
    public func expiry(of task: TaskResource, observedFinal: Timestamp) -> Timestamp? {
        guard task.status.isFinal else { return nil }
        let ttl = task.spec.ttlSecondsAfterFinished.map { Duration.seconds($0) } ?? defaultTTL
        return (task.status.completionTime ?? observedFinal).adding(ttl)
    }
}
