/// The numbers of one agent that the filter and the score read, derived from its snapshot and its ledger and
/// kept together so that looking at a candidate touches one cache line.
struct AgentFitness: Sendable {
    /// The load score of an idle agent. A busier one scores its free share of this: the free share of its most
    /// used dimension among slots, CPU and memory (its dominant share), so that an agent whose CPU is spent counts
    /// as busy even with free slots. A power of two, so that `LoadLevels` divide it exactly.
    static let idleLoadScore: Int64 = 1 << 20

    // Laid out to fill 32 bytes, two agents to a cache line: the scan reads one per candidate.
    var freeCPUMillicores: Int64
    var freeMemoryBytes: Int64
    var loadScore: Int64
    var openSlots: Int32
    /// Registered, Ready and not draining.
    var acceptsTasks: Bool
    var gpuFree: Bool

    /// An empty agent slot.
    static let vacant = AgentFitness(
        acceptsTasks: false, openSlots: 0, freeCPUMillicores: 0, freeMemoryBytes: 0, gpuFree: false, loadScore: 0)

    init(
        acceptsTasks: Bool, openSlots: Int32, freeCPUMillicores: Int64, freeMemoryBytes: Int64, gpuFree: Bool,
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
        let slots = min(max(agent.maxConcurrentTasks, 0), Int(Int32.max))
        let open = max(slots - usage.tasks, 0)
        self.init(
            acceptsTasks: agent.isReady && !agent.isDraining,
            openSlots: Int32(open),
            freeCPUMillicores: agent.capacity.cpuMillicores &- usage.cpuMillicores,
            freeMemoryBytes: agent.capacity.memoryBytes &- usage.memoryBytes,
            gpuFree: agent.capacity.gpu && usage.gpuTasks == 0,
            loadScore: Self.loadScore(
                slotsUsed: Self.share(Int64(usage.tasks), of: Int64(slots)),
                cpuUsed: Self.share(usage.cpuMillicores, of: agent.capacity.cpuMillicores),
                memoryUsed: Self.share(usage.memoryBytes, of: agent.capacity.memoryBytes))
        )
    }

    private static func loadScore(slotsUsed: Double, cpuUsed: Double, memoryUsed: Double) -> Int64 {
        let dominantShare = min(max(slotsUsed, cpuUsed, memoryUsed), 1)
        return Int64((1 - dominantShare) * Double(idleLoadScore))
    }

    /// The used share of a capacity; nothing left of an empty one.
    private static func share(_ used: Int64, of capacity: Int64) -> Double {
        capacity > 0 ? max(Double(used), 0) / Double(capacity) : 1
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
