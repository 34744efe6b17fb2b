/// Where each task counts: the agents' ledgers, by agent slot, and for each counted task the one agent that
/// counts it. A task counts against at most one agent, whatever stale listings the snapshots still carry.
struct PlacementBook: Sendable {
    private(set) var ledgers: [AgentLedger] = []
    private var countingAgent: [TaskID: Int32] = [:]
    /// Listings that do not count because this scheduler's reservation of the same task on another agent is
    /// newer (see `reconcile`): the agent listing it, the latest to arrive. When that reservation is released
    /// without the task ending (its write lost to another replica's, for a moment two leaders), the listing is
    /// the truth, and counts from then on.
    private var deferredListing: [TaskID: Int32] = [:]

    func usage(of slot: Int32) -> AgentUsage {
        ledgers[Int(slot)].usage
    }

    /// The agent that counts the task, and whether it counts it by this scheduler's reservation (with whether
    /// that was confirmed) or by the cluster's listing.
    func placement(of task: TaskID) -> (slot: Int32, reservation: AgentLedger.Reservation?)? {
        guard let slot = countingAgent[task] else { return nil }
        return (slot, ledgers[Int(slot)].reserved[task])
    }

    /// Starts an empty ledger for a newly registered agent slot.
    mutating func open(_ slot: Int32) {
        while ledgers.count <= Int(slot) { ledgers.append(AgentLedger()) }
        ledgers[Int(slot)] = AgentLedger()
    }

    /// Drops an agent's ledger. Returns the tasks this scheduler had reserved there.
    mutating func close(_ slot: Int32) -> [TaskID] {
        let ledger = ledgers[Int(slot)]
        for task in ledger.countedTasks where countingAgent[task] == slot {
            countingAgent[task] = nil
        }
        for (task, agent) in deferredListing where agent == slot {
            deferredListing[task] = nil
        }
        ledgers[Int(slot)] = AgentLedger()
        return ledger.reserved.keys.sorted()
    }

    /// Reserves the task on the agent. The caller releases the task's previous placement first: offering a
    /// task again means that placement no longer holds.
    mutating func reserve(_ task: TaskID, request: ResourceAmounts, on slot: Int32) {
        precondition(countingAgent[task] == nil, "a task's previous placement is released before it is reserved")
        ledgers[Int(slot)].reserve(task, request: request)
        countingAgent[task] = slot
        // Placed on the agent whose listing deferred: that listing counts it now (`AgentLedger.reserve`).
        if deferredListing[task] == slot { deferredListing[task] = nil }
    }

    mutating func confirm(_ task: TaskID) -> Bool {
        guard let slot = countingAgent[task] else { return false }
        return ledgers[Int(slot)].confirm(task)
    }

    /// Stops counting the task wherever it counts. Returns the agent whose room grew.
    ///
    /// With `handingOver`, an agent whose listing of the task deferred to the reservation released here counts
    /// the task from now on (returned as `takenOver`): the task was not placed again, so that listing is what
    /// the cluster says. A task about to be placed again is released without it.
    mutating func release(_ task: TaskID, handingOver: Bool = false) -> (freed: Int32, takenOver: Int32?)? {
        guard let slot = countingAgent.removeValue(forKey: task) else { return nil }
        ledgers[Int(slot)].release(task)
        guard handingOver, let listing = deferredListing.removeValue(forKey: task), listing != slot,
              ledgers[Int(listing)].countListing(task)
        else { return (slot, nil) }
        countingAgent[task] = listing
        return (slot, listing)
    }

    /// Applies the cluster's list of an agent's active tasks. Returns the other agents that stopped counting a
    /// task because this list shows it moved here.
    ///
    /// A task listed here that another agent counts: if this scheduler reserved it there, that reservation is
    /// newer than the listing, which is then stale and does not count; if the other agent only had it listed too,
    /// the listing that arrives last is taken to be the newer one.
    mutating func reconcile(_ slot: Int32, activeTasks: [TaskID: ResourceAmounts]) -> [Int32] {
        let previouslyListed = ledgers[Int(slot)].observed
        for task in previouslyListed.keys where activeTasks[task] == nil {
            if ledgers[Int(slot)].forget(task), countingAgent[task] == slot {
                countingAgent[task] = nil
            }
            if deferredListing[task] == slot { deferredListing[task] = nil }
        }
        var agentsThatLostTasks: [Int32] = []
        for (task, request) in activeTasks where previouslyListed[task] == nil {
            if let other = countingAgent[task], other != slot {
                if ledgers[Int(other)].isReserved(task) {
                    ledgers[Int(slot)].observe(task, request: request, counted: false)
                    deferredListing[task] = slot
                    continue
                }
                ledgers[Int(other)].release(task)
                agentsThatLostTasks.append(other)
            }
            ledgers[Int(slot)].observe(task, request: request, counted: true)
            countingAgent[task] = slot
        }
        return agentsThatLostTasks
    }
}
