/// The scheduler's tunables.
public struct SchedulingPolicy: Hashable, Sendable {
    /// Each full interval that a task has waited since its creation raises its effective priority by one, so a
    /// low-priority task is eventually ordered before newer urgent ones and nothing starves. `nil` turns aging
    /// off.
    public var agingInterval: Duration?
    /// Score for each preferred tag an agent has, in units of the load score of an idle agent (1.0): with 0.5 an
    /// agent with one preferred tag wins over one up to half of its slots less busy.
    public var preferredTagWeight: Double
    /// Score taken away for each avoided tag an agent has, in the same units.
    public var avoidedTagWeight: Double

    /// When set, a decision scores at most this many of the agents that pass the filters, taken in the rotating
    /// order, instead of all of them: the least loaded of a moving window rather than of the whole cluster, for a
    /// bounded decision time in very large clusters (as kube-scheduler's percentageOfNodesToScore). `nil`, the
    /// default, scores every agent that passes.
    public var maximumAgentsToScore: Int?

    public init(
        agingInterval: Duration? = .seconds(30), preferredTagWeight: Double = 0.5, avoidedTagWeight: Double = 0.5,
        maximumAgentsToScore: Int? = nil
    ) {
        self.agingInterval = agingInterval
        self.preferredTagWeight = preferredTagWeight
        self.avoidedTagWeight = avoidedTagWeight
        self.maximumAgentsToScore = maximumAgentsToScore
    }
}
