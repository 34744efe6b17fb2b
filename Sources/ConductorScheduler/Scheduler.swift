/// Places tasks on agents as DESIGN.md's "Scheduling" says, and counts every placement at once.
///
/// Filter: Ready and not draining, every required capability, required tags, a free slot, resources that fit.
/// Score: least loaded, where load is the dominant share (the most used of slots, CPU and memory), plus a weight
/// per preferred tag, minus a weight per avoided tag; among equal scores the agents take turns. Order: effective
/// priority (priority raised by waiting), then age.
///
/// A value type with no clock, no I/O and no lock: the controller keeps one inside the actor that leads
/// scheduling, applies agent snapshots from its watches, and passes it batches drained from the assignment
/// queue. A decision starts from the agents of the rarest required capability and narrows them with whole agent
/// sets (bitmaps) before it looks at any agent alone, then looks at the least loaded first and stops early, so it
/// does not scan all agents.
public struct Scheduler: Sendable {
    private let ordering: TaskOrdering
    private let preferredTagScore: Int64
    private let avoidedTagScore: Int64

    private var capabilityNames = SymbolTable()
    private var tagNames = SymbolTable()
    private var capabilityIndex = AgentSetIndex()
    private var tagIndex = AgentSetIndex()
    /// Names in both tables after the last renumbering: the next one is due once they have doubled.
    private var internedAfterRenumbering = 0

    private var slotByName: [String: Int32] = [:]
    /// By agent slot; `nil` for a vacant slot.
    private var agents: [RegisteredAgent?] = []
    /// By agent slot, parallel to `agents`.
    private var fitness: [AgentFitness] = []
    /// Every registered agent: the candidates of a task that requires no capability.
    private var registeredAgents = AgentBitmap()
    /// Agents that are Ready and not draining.
    private var readyAgents = AgentBitmap()
    /// Agents with at least one free slot.
    private var agentsWithFreeSlot = AgentBitmap()
    /// Agents whose GPU no task holds.
    private var agentsWithFreeGPU = AgentBitmap()
    private var freeResources = FreeResourceIndex()
    private var loadLevels = LoadLevels()
    private var vacantSlots: [Int32] = []

    private var book = PlacementBook()
    private var waiting = WaitingRoom()
    /// Advances with every decision and sets where the scan of candidates starts, so that agents with equal
    /// scores are chosen in turn, deterministically.
    private var spreadCursor = 0

    public init(policy: SchedulingPolicy = SchedulingPolicy()) {
        ordering = TaskOrdering(policy: policy)
        let idle = Double(AgentFitness.idleLoadScore)
        preferredTagScore = Int64(SchedulingPolicy.clampedWeight(policy.preferredTagWeight) * idle)
        avoidedTagScore = Int64(SchedulingPolicy.clampedWeight(policy.avoidedTagWeight) * idle)
    }

    // MARK: Agents

    /// Applies the watch's current view of an agent: registers it, or replaces what was known. Idempotent: the
    /// tasks it lists are reconciled with this scheduler's reservations by task id, so a task is never counted
    /// twice however often it is seen.
    public mutating func updateAgent(_ snapshot: AgentSnapshot) {
        let known = slotByName[snapshot.name]
        let slot = known ?? register(snapshot.name)
        let before = known.map { fitness[Int($0)] } ?? .vacant
        let indexChanged = reindex(slot, capabilities: snapshot.capabilities, tags: snapshot.tags)
        var kept = snapshot
        kept.activeTasks = [:]  // the ledger keeps them
        agents[Int(slot)]?.snapshot = kept
        for other in book.reconcile(slot, activeTasks: snapshot.activeTasks) {
            refreshFitness(of: other, noting: true)
        }
        refreshFitness(of: slot, noting: false)
        let now = fitness[Int(slot)]
        if now.hasMoreRoom(than: before) || (indexChanged && now.acceptsTasks && now.openSlots > 0) {
            waiting.noteRoom(on: slot)
        }
        // After the snapshot is kept: renumbering reads each agent's names from it.
        if indexChanged { renumberSymbolsIfDue() }
    }

    /// Forgets an agent that was deleted. Returns the tasks this scheduler had reserved on it (written or not):
    /// any whose assignment was written now belongs to an agent that is gone.
    @discardableResult
    public mutating func removeAgent(named name: String) -> [TaskID] {
        guard let slot = slotByName.removeValue(forKey: name), let agent = agents[Int(slot)] else { return [] }
        for symbol in agent.capabilitySymbols { capabilityIndex.remove(agent: slot, symbol: symbol) }
        for symbol in agent.tagSymbols { tagIndex.remove(agent: slot, symbol: symbol) }
        registeredAgents.remove(slot)
        readyAgents.remove(slot)
        agentsWithFreeSlot.remove(slot)
        agentsWithFreeGPU.remove(slot)
        freeResources.remove(slot)
        loadLevels.remove(slot)
        agents[Int(slot)] = nil
        fitness[Int(slot)] = .vacant
        waiting.forgetAgent(slot)
        vacantSlots.append(slot)
        defer { renumberSymbolsIfDue() }
        return book.close(slot)
    }

    // MARK: Tasks

    /// Places a batch: in effective-priority order, each task on the best agent that fits it now. Every
    /// assignment reserves its slot and resources at once, so later tasks of the batch, and later batches, see
    /// them. Decisions come in the order the tasks were placed. A task that does not fit starts (or goes on)
    /// waiting; see `takeTasksToReoffer(now:)`.
    ///
    /// Offering a task that already counts somewhere (say, again after its agent was lost) means its previous
    /// placement no longer holds: that agent stops counting it.
    public mutating func schedule(batch: [TaskRequest], now: SchedulingInstant) -> [SchedulingDecision] {
        ordering.sorted(batch, at: now).map { place($0) }
    }

    /// Records that the assignment write for a reserved task succeeded. The reservation goes on counting until
    /// the agent's snapshot lists the task or the task is released. Returns whether the task was reserved.
    @discardableResult
    public mutating func confirm(_ task: TaskID) -> Bool {
        book.confirm(task)
    }

    /// Frees the slot and resources a task holds: call it when its assignment write failed, and when it ended
    /// (Completed, Failed, back to Pending, deleted). Where the cluster still lists the task on the agent, the
    /// listing stops counting until a snapshot drops it. Idempotent; returns whether the task counted anywhere.
    ///
    /// A listing of the task on another agent that did not count, because this release's reservation was newer,
    /// counts from now on: with two leaders for a moment, the other's assignment may be the one that was written.
    @discardableResult
    public mutating func release(_ task: TaskID) -> Bool {
        guard let (freed, takenOver) = book.release(task, handingOver: true) else { return false }
        refreshFitness(of: freed, noting: true)
        if let takenOver { refreshFitness(of: takenOver, noting: false) }
        return true
    }

    /// Stops keeping a waiting task (cancelled, deleted, or no longer Pending).
    public mutating func withdraw(_ task: TaskID) {
        waiting.remove(task)
    }

    /// Whether `takeTasksToReoffer(now:)` may return something: tasks wait and an agent gained room since.
    public var mayHaveTasksToReoffer: Bool { waiting.mayHaveTasksToReoffer }

    /// The waiting tasks that fit, now, an agent that gained room (a freed slot or resources, a new agent, one
    /// that became Ready, changed capabilities or tags), as many as that room holds, best first. They stop waiting:
    /// pass them to `schedule` (with any newly drained tasks), which places them or lets them wait again.
    ///
    /// Each waiting task under a capability of those agents is looked at once, in placement order, against the
    /// agents with room that have its key capability, whose room it then takes up; so a call costs about the
    /// number of such tasks times the few agents each is tried on.
    public mutating func takeTasksToReoffer(now: SchedulingInstant) -> [TaskRequest] {
        var room: [Int32: AgentFitness] = [:]
        var roomyByCapability: [Int32: [Int32]] = [:]
        var everyRoomyAgent: [Int32] = []
        for slot in waiting.takeAgentsWithRoom() {
            guard let agent = agents[Int(slot)] else { continue }
            room[slot] = fitness[Int(slot)]
            everyRoomyAgent.append(slot)
            for capability in agent.capabilitySymbols { roomyByCapability[capability, default: []].append(slot) }
        }
        guard !everyRoomyAgent.isEmpty else { return [] }
        let waitingTasks = waiting
            .entries(keyedUnder: roomyByCapability, everyAgent: everyRoomyAgent) { agent, request in
                room[agent]!.hasResources(for: request)
            }
            .map { (key: ordering.key(of: $0.request, at: now), entry: $0) }
            .sorted { $0.key < $1.key }
        var offered: [TaskRequest] = []
        for (_, entry) in waitingTasks {
            let needs = refreshedNeeds(entry)
            let triedAgents = needs.rarestCapability.map { roomyByCapability[$0] ?? [] } ?? everyRoomyAgent
            for slot in triedAgents {
                guard var agentRoom = room[slot], agentRoom.openSlots > 0,
                      fitsWhole(slot, room: agentRoom, needs: needs) else { continue }
                agentRoom.take(entry.request.resources)
                room[slot] = agentRoom
                waiting.remove(entry.request.id)
                offered.append(entry.request)
                break
            }
        }
        return offered
    }

    // MARK: Looking in

    public var agentCount: Int { slotByName.count }

    public var waitingTaskCount: Int { waiting.count }

    /// Capability and tag names interned now: the agents' and the waiting tasks', and until the next renumbering
    /// those of agents and tasks that are gone.
    var internedNameCount: Int { capabilityNames.count + tagNames.count }

    /// What counts against an agent now.
    public func usage(ofAgent name: String) -> AgentUsage? {
        slotByName[name].map { book.usage(of: $0) }
    }

    /// Where a task counts now.
    public func placement(of task: TaskID) -> TaskPlacement? {
        guard let (slot, reservation) = book.placement(of: task), let agent = agents[Int(slot)] else { return nil }
        if let reservation {
            return .reserved(agent: agent.snapshot.name, written: reservation.isWritten)
        }
        return .active(agent: agent.snapshot.name)
    }
}

/// Where a task counts.
public enum TaskPlacement: Hashable, Sendable {
    /// This scheduler placed it there; `written` once `confirm` was called. The agent's snapshots do not list it
    /// yet.
    case reserved(agent: String, written: Bool)
    /// The agent's snapshot lists it.
    case active(agent: String)
}

/// An agent as the scheduler keeps it.
struct RegisteredAgent: Sendable {
    /// The latest snapshot without its task list, which the ledger keeps.
    var snapshot: AgentSnapshot
    var capabilitySymbols: [Int32]
    var tagSymbols: [Int32]
}

// MARK: - Placing one task

extension Scheduler {
    private enum AgentSearch {
        case found(Int32)
        case nothingFits(UnschedulableReason)
    }

    private mutating func place(_ task: TaskRequest) -> SchedulingDecision {
        if let (previous, _) = book.release(task.id) { refreshFitness(of: previous, noting: true) }
        let needs = TaskNeeds(
            task, capabilityNames: capabilityNames, tagNames: tagNames, capabilityIndex: capabilityIndex)
        let search = findAgent(for: needs, scanStart: spreadCursor)
        spreadCursor &+= 1
        switch search {
        case .found(let slot):
            book.reserve(task.id, request: task.resources, on: slot)
            refreshFitness(of: slot, noting: false)
            waiting.remove(task.id)
            return .assign(task: task.id, agent: agents[Int(slot)]!.snapshot.name)
        case .nothingFits(let reason):
            waiting.wait(task, needs: needs, keyCapability: waitingKey(of: task, needs: needs))
            return .unschedulable(task: task.id, reason: reason)
        }
    }

    /// Narrows the candidates filter by filter over whole agent sets; the stage at which none is left gives the
    /// reason. Then finds the best score among the survivors that have the resources, looking at the most
    /// promising first and stopping where no agent left could beat the best found; among equal scores, the first
    /// in an order that rotates with every decision.
    private func findAgent(for needs: TaskNeeds, scanStart: Int) -> AgentSearch {
        if needs.hasUnknownCapability { return .nothingFits(.noAgentWithCapability) }
        let firstSet = needs.rarestCapability.map { capabilityIndex.agents(with: $0) } ?? registeredAgents
        var candidates = CandidateMask(firstSet, wordCount: (agents.count + 63) / 64)
        var anyCapable = firstSet.count > 0
        for capability in needs.otherCapabilities where anyCapable {
            anyCapable = candidates.formIntersection(capabilityIndex.agents(with: capability))
        }
        guard anyCapable else { return .nothingFits(.noAgentWithCapability) }
        guard candidates.formIntersection(readyAgents) else { return .nothingFits(.noReadyAgent) }
        if needs.hasUnknownRequiredTag { return .nothingFits(.tagsNotMatched) }
        for tag in needs.requiredTags where !candidates.formIntersection(tagIndex.agents(with: tag)) {
            return .nothingFits(.tagsNotMatched)
        }
        guard candidates.formIntersection(agentsWithFreeSlot) else { return .nothingFits(.allAgentsBusy) }
        if needs.resources.gpu, !candidates.formIntersection(agentsWithFreeGPU) {
            return .nothingFits(.insufficientResources)
        }
        guard freeResources.narrow(&candidates, to: needs.resources) else {
            return .nothingFits(.insufficientResources)
        }

        // Agents that carry a preferred tag are few and their bonus spans many levels: they are bucketed by their
        // own bound. The rest are taken level by level, from the least loaded, where the first level with a
        // fitting agent usually ends the search; when the candidates are too sparse among the levels' agents for
        // that to pay, they are bucketed too.
        //
        // Counting costs a pass over the mask (without a popcount instruction in the baseline x86-64 target), so
        // it is done once; the split-off preferred candidates are bounded by it and by their tags' agent counts.
        let candidateCount = candidates.count
        var best = BestAgent()
        if !needs.preferredTags.isEmpty {
            let preferredSets = needs.preferredTags.map { tagIndex.agents(with: $0) }
            let preferred = candidates.removeAll(inAnyOf: preferredSets)
            let preferredAtMost = min(candidateCount, preferredSets.reduce(0) { $0 + $1.count })
            scoreByBuckets(preferred, atMost: preferredAtMost, for: needs, scanStart: scanStart, best: &best)
        }
        let levelVisits = 4 * candidateCount + 64
        if candidateCount > 0,
           !scoreByLevels(candidates, for: needs, scanStart: scanStart, visits: levelVisits, best: &best)
        {
            scoreByBuckets(candidates, atMost: candidateCount, for: needs, scanStart: scanStart, best: &best)
        }
        return best.agent >= 0 ? .found(best.agent) : .nothingFits(.insufficientResources)
    }

    /// The best agent found so far: the first with the highest score.
    private struct BestAgent {
        var agent: Int32 = -1
        var score = Int64.min

        /// Whether no agent scoring at most `bound` could replace it.
        func beats(_ bound: Int64) -> Bool {
            agent >= 0 && score >= bound
        }

        @inline(__always)
        mutating func consider(_ candidate: Int32, score candidateScore: Int64) {
            if candidateScore > score {
                agent = candidate
                score = candidateScore
            }
        }
    }

    /// Scores candidates bucketed by load level, raised by the levels that the bonus of the preferred tags they
    /// carry spans; highest bucket first, each bucket in the rotating order; stops at the first bucket that
    /// cannot beat the best found.
    private func scoreByBuckets(
        _ candidates: CandidateMask, atMost candidateCount: Int, for needs: TaskNeeds, scanStart: Int,
        best: inout BestAgent
    ) {
        let tagLevels = (0...needs.preferredTags.count).map {
            LoadLevels.levels(spannedBy: Int64($0) * preferredTagScore)
        }
        var buckets = ScoreBuckets(bucketCount: LoadLevels.count + tagLevels.last!, capacity: candidateCount)
        guard !buckets.isFull else { return }
        loadLevels.levelOfAgent.withUnsafeBufferPointer { levelOfAgent in
            candidates.forEach(startingAt: scanStart) { agent in
                var preferredTagsCarried = 0
                for tag in needs.preferredTags where tagIndex.contains(agent: agent, symbol: tag) {
                    preferredTagsCarried += 1
                }
                return buckets.append(agent, bucket: Int(levelOfAgent[Int(agent)]) + tagLevels[preferredTagsCarried])
            }
        }
        fitness.withUnsafeBufferPointer { fitness in
            buckets.forEachBucketDescending { bucket, agents in
                if best.beats(LoadLevels.highestScore(in: bucket)) { return false }
                for agent in agents where fitness[Int(agent)].hasResources(for: needs.resources) {
                    best.consider(agent, score: score(of: agent, fitness: fitness[Int(agent)], for: needs))
                }
                return true
            }
        }
    }

    /// Scores candidates level by level from the least loaded, each level from a rotating start; stops at the
    /// first level that cannot beat the best found. Returns `false` when it looked at `visits` agents of the
    /// levels without getting that far.
    private func scoreByLevels(
        _ candidates: CandidateMask, for needs: TaskNeeds, scanStart: Int, visits: Int, best: inout BestAgent
    ) -> Bool {
        var visitsLeft = visits
        return fitness.withUnsafeBufferPointer { fitness in
            for level in stride(from: LoadLevels.count - 1, through: 0, by: -1) {
                if best.beats(LoadLevels.highestScore(in: level)) { return true }
                let members = loadLevels.agents(in: level)
                guard !members.isEmpty else { continue }
                if members.count > visitsLeft { return false }
                visitsLeft -= members.count
                members.withUnsafeBufferPointer { members in
                    var position = scanStart % members.count
                    for _ in 0..<members.count {
                        let agent = members[position]
                        position = position + 1 == members.count ? 0 : position + 1
                        guard candidates.contains(agent), fitness[Int(agent)].hasResources(for: needs.resources)
                        else { continue }
                        best.consider(agent, score: score(of: agent, fitness: fitness[Int(agent)], for: needs))
                    }
                }
            }
            return true
        }
    }

    /// Runs the filters on one agent, except the rarest capability, in the order that `UnschedulableReason`
    /// documents: the re-offer's check, the same filters `findAgent` applies to sets of agents.
    private func stage(of agent: Int32, fitness: AgentFitness, for needs: TaskNeeds) -> FilterStage {
        for capability in needs.otherCapabilities where !capabilityIndex.contains(agent: agent, symbol: capability) {
            return .lacksCapability
        }
        guard fitness.acceptsTasks else { return .capable }
        if needs.hasUnknownRequiredTag { return .ready }
        for tag in needs.requiredTags where !tagIndex.contains(agent: agent, symbol: tag) {
            return .ready
        }
        guard fitness.openSlots > 0 else { return .tagsMatched }
        guard fitness.hasResources(for: needs.resources) else { return .slotFree }
        return .fits
    }

    @inline(__always)
    private func score(of agent: Int32, fitness: AgentFitness, for needs: TaskNeeds) -> Int64 {
        var score = fitness.loadScore
        for tag in needs.preferredTags where tagIndex.contains(agent: agent, symbol: tag) {
            score += preferredTagScore
        }
        for tag in needs.avoidedTags where tagIndex.contains(agent: agent, symbol: tag) {
            score -= avoidedTagScore
        }
        return score
    }

    /// All the filters against one agent, the rarest capability included.
    private func fitsWhole(_ agent: Int32, room: AgentFitness, needs: TaskNeeds) -> Bool {
        guard !needs.hasUnknownCapability else { return false }
        if let rarest = needs.rarestCapability, !capabilityIndex.contains(agent: agent, symbol: rarest) {
            return false
        }
        return stage(of: agent, fitness: room, for: needs) == .fits
    }

    /// A waiting task's symbols, made again when it named a capability or tag that no agent had then, since one
    /// may have it now.
    private func refreshedNeeds(_ entry: WaitingRoom.Entry) -> TaskNeeds {
        guard entry.needs.hasUnknownCapability || entry.needs.hasUnknownRequiredTag else { return entry.needs }
        return TaskNeeds(
            entry.request, capabilityNames: capabilityNames, tagNames: tagNames, capabilityIndex: capabilityIndex)
    }

    /// The capability a refused task waits under: the rarest required one. A capability that no agent declared
    /// yet is interned here so that the agent that declares it finds the task.
    private mutating func waitingKey(of task: TaskRequest, needs: TaskNeeds) -> Int32? {
        if needs.hasUnknownCapability,
           let unknown = task.requiredCapabilities.sorted().first(where: { capabilityNames.symbol(for: $0) == nil })
        {
            return capabilityNames.intern(unknown)
        }
        return needs.rarestCapability
    }
}

// MARK: - Keeping agents

extension Scheduler {
    private mutating func register(_ name: String) -> Int32 {
        let slot: Int32
        if let vacant = vacantSlots.popLast() {
            slot = vacant
        } else {
            slot = Int32(agents.count)
            agents.append(nil)
            fitness.append(.vacant)
        }
        slotByName[name] = slot
        agents[Int(slot)] = RegisteredAgent(
            snapshot: AgentSnapshot(name: name, capabilities: [], maxConcurrentTasks: 0),
            capabilitySymbols: [], tagSymbols: [])
        registeredAgents.insert(slot)
        book.open(slot)
        return slot
    }

    /// Brings the capability and tag indexes in line with the agent's sets. Returns whether either changed.
    private mutating func reindex(_ slot: Int32, capabilities: Set<String>, tags: Set<String>) -> Bool {
        guard var agent = agents[Int(slot)] else { return false }
        // Sorted, so that symbols (and with them tie-breaks) do not depend on the sets' hash order.
        let newCapabilities = capabilities.sorted().map { capabilityNames.intern($0) }
        let newTags = tags.sorted().map { tagNames.intern($0) }
        let changed = newCapabilities != agent.capabilitySymbols || newTags != agent.tagSymbols
        guard changed else { return false }
        Self.replace(agent.capabilitySymbols, with: newCapabilities, of: slot, in: &capabilityIndex)
        Self.replace(agent.tagSymbols, with: newTags, of: slot, in: &tagIndex)
        agent.capabilitySymbols = newCapabilities
        agent.tagSymbols = newTags
        agents[Int(slot)] = agent
        return true
    }

    /// Renumbers once the tables have doubled since the last time (and hold more than a few names), so that names
    /// left by agents that came and went (a tag of each pod's own, say) do not pile up for good. Renumbering
    /// costs a look at every agent and waiting task; doubling pays for it with as many new names.
    private mutating func renumberSymbolsIfDue() {
        guard internedNameCount > max(64, 2 * internedAfterRenumbering) else { return }
        renumberSymbols()
    }

    /// New tables holding only the names that registered agents declare and waiting tasks require, with the
    /// agents' symbols, both indexes and every waiting task's needs made again from them.
    mutating func renumberSymbols() {
        capabilityNames = SymbolTable()
        tagNames = SymbolTable()
        capabilityIndex = AgentSetIndex()
        tagIndex = AgentSetIndex()
        for slot in agents.indices {
            guard var agent = agents[slot] else { continue }
            agent.capabilitySymbols = agent.snapshot.capabilities.sorted().map { capabilityNames.intern($0) }
            agent.tagSymbols = agent.snapshot.tags.sorted().map { tagNames.intern($0) }
            for symbol in agent.capabilitySymbols { capabilityIndex.insert(agent: Int32(slot), symbol: symbol) }
            for symbol in agent.tagSymbols { tagIndex.insert(agent: Int32(slot), symbol: symbol) }
            agents[slot] = agent
        }
        for entry in waiting.takeEveryEntry() {
            let needs = TaskNeeds(
                entry.request, capabilityNames: capabilityNames, tagNames: tagNames, capabilityIndex: capabilityIndex)
            waiting.wait(entry.request, needs: needs, keyCapability: waitingKey(of: entry.request, needs: needs))
        }
        internedAfterRenumbering = internedNameCount
    }

    private static func replace(_ old: [Int32], with new: [Int32], of slot: Int32, in index: inout AgentSetIndex) {
        let kept = Set(new)
        for symbol in old where !kept.contains(symbol) { index.remove(agent: slot, symbol: symbol) }
        for symbol in new { index.insert(agent: slot, symbol: symbol) }
    }

    /// Recomputes an agent's fitness from its snapshot and ledger; with `noting`, tells the waiting room when
    /// the agent gained room.
    private mutating func refreshFitness(of slot: Int32, noting: Bool) {
        guard let agent = agents[Int(slot)] else { return }
        let before = fitness[Int(slot)]
        let after = AgentFitness(agent: agent.snapshot, usage: book.usage(of: slot))
        fitness[Int(slot)] = after
        readyAgents.update(slot, isMember: after.acceptsTasks)
        agentsWithFreeSlot.update(slot, isMember: after.openSlots > 0)
        agentsWithFreeGPU.update(slot, isMember: after.gpuFree)
        freeResources.update(
            slot, freeCPUMillicores: after.freeCPUMillicores, freeMemoryBytes: after.freeMemoryBytes)
        // Only agents that can take a task are levelled: the level scan then never wades through stopped or
        // full agents, which would otherwise gather in the least loaded levels.
        if after.acceptsTasks, after.openSlots > 0 {
            loadLevels.set(slot, loadScore: after.loadScore)
        } else {
            loadLevels.remove(slot)
        }
        if noting, after.hasMoreRoom(than: before) { waiting.noteRoom(on: slot) }
    }
}
