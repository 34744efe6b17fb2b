/// Agents grouped by load score into a few levels, so that a decision can look at the least loaded agents first
/// and stop as soon as no agent of a busier level could beat the best one found. Each agent's level is also kept
/// as a byte, for bucketing a few candidates without touching the lists.
struct LoadLevels: Sendable {
    static let count = 32
    /// Load scores per level: `AgentFitness.idleLoadScore` is a power of two so that levels divide it exactly.
    static let width = AgentFitness.idleLoadScore / Int64(count)

    /// By level, its agents, in no meaningful order.
    private var members = [[Int32]](repeating: [], count: LoadLevels.count)
    /// By agent slot: its level, and its place in that level's list (-1: in no level).
    private(set) var levelOfAgent: [UInt8] = []
    private var positionOfAgent: [Int32] = []

    static func level(of loadScore: Int64) -> Int {
        Int(min(max(loadScore, 0) / width, Int64(count - 1)))
    }

    /// No score in `level` is above this. Levels past the last continue the same scale, for scores raised by
    /// tag bonuses.
    static func highestScore(in level: Int) -> Int64 {
        Int64(level + 1) * width
    }

    /// The number of levels a bonus can lift a score by, rounded up.
    static func levels(spannedBy bonus: Int64) -> Int {
        Int((max(bonus, 0) + width - 1) / width)
    }

    func agents(in level: Int) -> [Int32] {
        members[level]
    }

    mutating func set(_ agent: Int32, loadScore: Int64) {
        let slot = Int(agent)
        while levelOfAgent.count <= slot {
            levelOfAgent.append(0)
            positionOfAgent.append(-1)
        }
        let level = Self.level(of: loadScore)
        if positionOfAgent[slot] >= 0 {
            guard Int(levelOfAgent[slot]) != level else { return }
            remove(agent)
        }
        levelOfAgent[slot] = UInt8(level)
        positionOfAgent[slot] = Int32(members[level].count)
        members[level].append(agent)
    }

    mutating func remove(_ agent: Int32) {
        let slot = Int(agent)
        guard slot < positionOfAgent.count, positionOfAgent[slot] >= 0 else { return }
        let level = Int(levelOfAgent[slot])
        let position = Int(positionOfAgent[slot])
        let last = members[level].removeLast()
        if position < members[level].count {
            members[level][position] = last
            positionOfAgent[Int(last)] = Int32(position)
        }
        positionOfAgent[slot] = -1
    }
}
