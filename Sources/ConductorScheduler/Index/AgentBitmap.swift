/// A set of agent slots as a bitmap, so that a decision can intersect whole sets a word (64 agents) at a time.
struct AgentBitmap: Sendable {
    private(set) var words: [UInt64] = []
    /// How many agents are in the set.
    private(set) var count = 0

    @inline(__always)
    func contains(_ agent: Int32) -> Bool {
        let word = Int(agent &>> 6)
        return word < words.count && words[word] & (1 &<< UInt64(agent & 63)) != 0
    }

    mutating func insert(_ agent: Int32) {
        let word = Int(agent >> 6)
        if word >= words.count { words.append(contentsOf: repeatElement(0, count: word - words.count + 1)) }
        let bit: UInt64 = 1 << UInt64(agent & 63)
        guard words[word] & bit == 0 else { return }
        words[word] |= bit
        count += 1
    }

    mutating func remove(_ agent: Int32) {
        guard contains(agent) else { return }
        words[Int(agent >> 6)] &= ~(1 << UInt64(agent & 63))
        count -= 1
    }

    mutating func update(_ agent: Int32, isMember: Bool) {
        if isMember { insert(agent) } else { remove(agent) }
    }
}
