/// The scheduler's tunables.
public struct SchedulingPolicy: Hashable, Sendable {
    /// Each full interval that a task has waited since its creation raises its effective priority by one, so a
    /// low-priority task is eventually ordered before newer urgent ones and nothing starves. `nil` turns aging
    /// off.
    public var agingInterval: Duration?
    /// Score for each preferred tag an agent has, in units of the load score of an idle agent (1.0): with 0.5 an
    /// agent with one preferred tag wins over one whose load (dominant share) is up to half its capacity lower.
    public var preferredTagWeight: Double
    /// Score taken away for each avoided tag an agent has, in the same units. Both weights are taken between 0
    /// and 10.
    public var avoidedTagWeight: Double

    public init(
        agingInterval: Duration? = .seconds(30), preferredTagWeight: Double = 0.5, avoidedTagWeight: Double = 0.5
    ) {
        self.agingInterval = agingInterval
        self.preferredTagWeight = preferredTagWeight
        self.avoidedTagWeight = avoidedTagWeight
    }

    static func clampedWeight(_ weight: Double) -> Double {
        weight.isNaN ? 0 : min(max(weight, 0), 10)
    }
}
