/// Whether an agent is cut off from the API server, asked before each heartbeat and each task event: the seam
/// through which a test partitions an agent. A cut agent renews no heartbeat and hears nothing of its tasks, but goes
/// on with the attempts it runs and reports their results, as an agent cut off from the watch by a network partition
/// would when the partition heals.
public protocol AgentLink: Sendable {
    var isCut: Bool { get }
}

/// The link of every agent outside such tests: never cut.
public struct UncutLink: AgentLink {
    public init() {}
    public var isCut: Bool { false }
}
