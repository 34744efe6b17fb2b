/// Which tasks count against one agent, by task id, and what they add up to.
///
/// A task counts when the cluster lists it on the agent (observed) and the caller has not said that it ended
/// there (released), or when this scheduler placed it and the cluster does not list it yet (reserved). Counting
/// ids rather than adding numbers is what makes a snapshot safe to apply twice, and a reservation safe to meet
/// again in a snapshot: a task is counted once however often it is seen.
///
/// Invariants: a reserved task is not observed; a released task is observed.
struct AgentLedger: Sendable {
    struct Reservation: Hashable, Sendable {
        var request: ResourceAmounts
        /// The assignment write succeeded (`confirm`).
        var isWritten: Bool
    }

    private(set) var observed: [TaskID: ResourceAmounts] = [:]
    private(set) var released: Set<TaskID> = []
    private(set) var reserved: [TaskID: Reservation] = [:]
    private(set) var usage = AgentUsage()

    func isReserved(_ task: TaskID) -> Bool {
        reserved[task] != nil
    }

    /// Every task that counts here now.
    var countedTasks: [TaskID] {
        Array(reserved.keys) + observed.keys.filter { !released.contains($0) }
    }

    /// Counts a task this scheduler placed here. When the cluster still lists it here from an earlier attempt,
    /// that listing counts it again instead, so it is not counted twice.
    mutating func reserve(_ task: TaskID, request: ResourceAmounts) {
        if let listed = observed[task] {
            if released.remove(task) != nil { usage.add(listed) }
            return
        }
        guard reserved[task] == nil else { return }
        reserved[task] = Reservation(request: request, isWritten: false)
        usage.add(request)
    }

    mutating func confirm(_ task: TaskID) -> Bool {
        guard reserved[task] != nil else { return false }
        reserved[task]?.isWritten = true
        return true
    }

    /// Stops counting a task. Returns whether it was counted.
    @discardableResult
    mutating func release(_ task: TaskID) -> Bool {
        if let reservation = reserved.removeValue(forKey: task) {
            usage.remove(reservation.request)
            return true
        }
        guard let listed = observed[task], !released.contains(task) else { return false }
        released.insert(task)
        usage.remove(listed)
        return true
    }

    /// The cluster lists the task here. The listing takes over from a reservation of it; with `counted` false it
    /// is recorded as released at once, because another agent counts the task.
    mutating func observe(_ task: TaskID, request: ResourceAmounts, counted: Bool) {
        if let reservation = reserved.removeValue(forKey: task) { usage.remove(reservation.request) }
        observed[task] = request
        if counted {
            usage.add(request)
        } else {
            released.insert(task)
        }
    }

    /// Counts again a listing recorded as not counting (`observe(counted: false)`). Returns whether it now counts.
    mutating func countListing(_ task: TaskID) -> Bool {
        guard let listed = observed[task], released.remove(task) != nil else { return false }
        usage.add(listed)
        return true
    }

    /// The cluster no longer lists the task here. Returns whether it was counted.
    mutating func forget(_ task: TaskID) -> Bool {
        guard let listed = observed.removeValue(forKey: task) else { return false }
        if released.remove(task) != nil { return false }
        usage.remove(listed)
        return true
    }
}
