/// The numbers of one agent that the filter and the score read, derived from its snapshot and its ledger and
/// kept together so that looking at a candidate touches one cache line.
struct AgentFitness: Sendable {
    /// The load score of an idle agent; a busier one scores its free share of slots of this.
    static let idleLoadScore: Int64 = 1_000_000

    /// Registered, Ready and not draining.
    var acceptsTasks: Bool
    var openSlots: Int
    var freeCPUMillicores: Int64
    var freeMemoryBytes: Int64
    var gpuFree: Bool
    var loadScore: Int64

    /// An empty agent slot.
    static let vacant = AgentFitness(
        acceptsTasks: false, openSlots: 0, freeCPUMillicores: 0, freeMemoryBytes: 0, gpuFree: false, loadScore: 0)

    init(
        acceptsTasks: Bool, openSlots: Int, freeCPUMillicores: Int64, freeMemoryBytes: Int64, gpuFree: Bool,
        loadScore: Int64
    ) {
        self.acceptsTasks = acceptsTasks
        self.openSlots = openSlots
        self.freeCPUMillicores = freeCPUMillicores
        self.freeMemoryBytes = freeMemoryBytes
        self.gpuFree = gpuFree
        self.loadScore = loadScore
    }

    init(agent: AgentSnapshot, usage: AgentUsage) {
        let slots = max(agent.maxConcurrentTasks, 0)
        let open = max(slots - usage.tasks, 0)
        self.init(
            acceptsTasks: agent.isReady && !agent.isDraining,
            openSlots: open,
            freeCPUMillicores: agent.capacity.cpuMillicores &- usage.cpuMillicores,
            freeMemoryBytes: agent.capacity.memoryBytes &- usage.memoryBytes,
            gpuFree: agent.capacity.gpu && usage.gpuTasks == 0,
            loadScore: slots == 0 ? 0 : Int64(open) * Self.idleLoadScore / Int64(slots)
        )
    }

    @inline(__always)
    func hasResources(for request: ResourceAmounts) -> Bool {
        request.cpuMillicores <= freeCPUMillicores && request.memoryBytes <= freeMemoryBytes
            && (!request.gpu || gpuFree)
    }

    /// Whether some task could fit here now that did not fit under `earlier`.
    func hasMoreRoom(than earlier: AgentFitness) -> Bool {
        guard acceptsTasks, openSlots > 0 else { return false }
        return !earlier.acceptsTasks || openSlots > earlier.openSlots
            || freeCPUMillicores > earlier.freeCPUMillicores || freeMemoryBytes > earlier.freeMemoryBytes
            || (gpuFree && !earlier.gpuFree)
    }

    /// Takes a task's share, as the re-offer does while it fills one agent's room.
    mutating func take(_ request: ResourceAmounts) {
        openSlots -= 1
        freeCPUMillicores &-= request.cpuMillicores
        freeMemoryBytes &-= request.memoryBytes
        if request.gpu { gpuFree = false }
    }
}
