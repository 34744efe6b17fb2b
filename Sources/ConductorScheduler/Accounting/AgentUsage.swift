/// What the tasks counted against an agent add up to: the tasks the cluster lists there and this scheduler's
/// reservations, each counted once.
public struct AgentUsage: Hashable, Sendable {
    /// Slots taken.
    public internal(set) var tasks = 0
    public internal(set) var cpuMillicores: Int64 = 0
    public internal(set) var memoryBytes: Int64 = 0
    /// GPU tasks; more than one only when the cluster already shows an overcommitted agent.
    public internal(set) var gpuTasks = 0

    mutating func add(_ request: ResourceAmounts) {
        tasks += 1
        cpuMillicores += request.cpuMillicores
        memoryBytes += request.memoryBytes
        if request.gpu { gpuTasks += 1 }
    }

    mutating func remove(_ request: ResourceAmounts) {
        tasks -= 1
        cpuMillicores -= request.cpuMillicores
        memoryBytes -= request.memoryBytes
        if request.gpu { gpuTasks -= 1 }
    }
}
