/// The tasks that found no agent, kept until an agent that might take them changes, so that they can be offered
/// again at once instead of after a fixed requeue delay.
///
/// Each task waits under one key: the required capability that the fewest agents had when it waited (any agent
/// that could ever take it has that capability too), or under no capability when it requires none. An agent that
/// gains room then only looks at the tasks keyed under its own capabilities.
struct WaitingRoom: Sendable {
    /// A waiting task with its requirements already turned into symbols, so that checking it against an agent
    /// costs a few integer tests.
    struct Entry: Sendable {
        var request: TaskRequest
        var needs: TaskNeeds
    }

    private var requests: [TaskID: Entry] = [:]
    private var keys: [TaskID: Int32] = [:]
    /// The waiting tasks by key, each with its resource request: a cheap first test against the room of the
    /// agents that gained it, which turns most tasks away (say, GPU tasks while the GPUs are held) before their
    /// entry is even looked up.
    private var byCapability: [Int32: [TaskID: ResourceAmounts]] = [:]
    private var withoutCapability: [TaskID: ResourceAmounts] = [:]
    private var agentsWithRoom: Set<Int32> = []

    var count: Int { requests.count }

    /// Whether a re-offer may find something: tasks wait and some agent gained room since the last one.
    var mayHaveTasksToReoffer: Bool { !requests.isEmpty && !agentsWithRoom.isEmpty }

    mutating func wait(_ request: TaskRequest, needs: TaskNeeds, keyCapability: Int32?) {
        remove(request.id)
        requests[request.id] = Entry(request: request, needs: needs)
        if let keyCapability {
            keys[request.id] = keyCapability
            byCapability[keyCapability, default: [:]][request.id] = request.resources
        } else {
            withoutCapability[request.id] = request.resources
        }
    }

    mutating func remove(_ task: TaskID) {
        guard requests.removeValue(forKey: task) != nil else { return }
        if let key = keys.removeValue(forKey: task) {
            byCapability[key]?[task] = nil
            if byCapability[key]?.isEmpty == true { byCapability[key] = nil }
        } else {
            withoutCapability[task] = nil
        }
    }

    /// Takes every waiting task out, to be put back with new symbols (see `Scheduler.renumberSymbols`); the
    /// agents noted as having room stay noted.
    mutating func takeEveryEntry() -> [Entry] {
        defer {
            requests = [:]
            keys = [:]
            byCapability = [:]
            withoutCapability = [:]
        }
        // In task order, so that renumbering interns the names of unknown capabilities deterministically.
        return requests.values.sorted { $0.request.id < $1.request.id }
    }

    /// Notes that an agent might now take a task it could not take before. Nothing is noted while no task waits:
    /// a task that starts waiting later was just refused with this room already counted.
    mutating func noteRoom(on slot: Int32) {
        if !requests.isEmpty { agentsWithRoom.insert(slot) }
    }

    mutating func forgetAgent(_ slot: Int32) {
        agentsWithRoom.remove(slot)
    }

    /// The agents noted since the last call, in slot order so that re-offers are deterministic.
    mutating func takeAgentsWithRoom() -> [Int32] {
        defer { agentsWithRoom.removeAll(keepingCapacity: true) }
        return agentsWithRoom.sorted()
    }

    /// The waiting tasks keyed under a capability in `agentsByCapability` (or under none, tried on
    /// `everyAgent`) whose resource request fits the room of at least one of those agents, as `hasRoom` says.
    func entries(
        keyedUnder agentsByCapability: [Int32: [Int32]], everyAgent: [Int32],
        hasRoom: (_ agent: Int32, _ request: ResourceAmounts) -> Bool
    ) -> [Entry] {
        var found: [Entry] = []
        for (task, request) in withoutCapability where everyAgent.contains(where: { hasRoom($0, request) }) {
            if let entry = requests[task] { found.append(entry) }
        }
        for (capability, agents) in agentsByCapability {
            guard let keyed = byCapability[capability] else { continue }
            for (task, request) in keyed where agents.contains(where: { hasRoom($0, request) }) {
                if let entry = requests[task] { found.append(entry) }
            }
        }
        return found
    }
}
