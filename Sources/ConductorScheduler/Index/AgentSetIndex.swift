/// For each symbol (a capability, or a tag), the agents that have it: as a list, to scan the candidates of the
/// rarest required capability, and as a bitmap, to test any other symbol of a candidate in constant time.
///
/// The bitmaps are one flat array, a row of `wordsPerRow` words per symbol, so a membership test is one bounds
/// check and one load. Memory is symbols × agent slots bits (10,000 agents: 1.25 KB per symbol).
struct AgentSetIndex: Sendable {
    private var memberLists: [[Int32]] = []
    private var bits: [UInt64] = []
    private var wordsPerRow = 1

    func members(of symbol: Int32) -> [Int32] {
        Int(symbol) < memberLists.count ? memberLists[Int(symbol)] : []
    }

    func memberCount(of symbol: Int32) -> Int {
        Int(symbol) < memberLists.count ? memberLists[Int(symbol)].count : 0
    }

    @inline(__always)
    func contains(agent: Int32, symbol: Int32) -> Bool {
        let word = Int(symbol) &* wordsPerRow &+ Int(agent &>> 6)
        return word < bits.count && bits[word] & (1 &<< UInt64(agent & 63)) != 0
    }

    mutating func insert(agent: Int32, symbol: Int32) {
        makeRoom(agent: agent, symbol: symbol)
        let word = Int(symbol) * wordsPerRow + Int(agent >> 6)
        let mask: UInt64 = 1 << UInt64(agent & 63)
        guard bits[word] & mask == 0 else { return }
        bits[word] |= mask
        memberLists[Int(symbol)].append(agent)
    }

    mutating func remove(agent: Int32, symbol: Int32) {
        guard contains(agent: agent, symbol: symbol) else { return }
        bits[Int(symbol) * wordsPerRow + Int(agent >> 6)] &= ~(1 << UInt64(agent & 63))
        // Order within a list carries no meaning (the scan rotates its start), so removal swaps with the last.
        let list = Int(symbol)
        if let position = memberLists[list].firstIndex(of: agent) {
            memberLists[list].swapAt(position, memberLists[list].count - 1)
            memberLists[list].removeLast()
        }
    }

    /// Grows the rows for a new symbol, and widens every row when an agent slot falls past their end.
    private mutating func makeRoom(agent: Int32, symbol: Int32) {
        let neededWords = Int(agent >> 6) + 1
        if neededWords > wordsPerRow {
            let widened = max(neededWords, wordsPerRow * 2)
            var regrown = [UInt64](repeating: 0, count: memberLists.count * widened)
            for row in 0..<memberLists.count {
                for word in 0..<wordsPerRow {
                    regrown[row * widened + word] = bits[row * wordsPerRow + word]
                }
            }
            bits = regrown
            wordsPerRow = widened
        }
        while memberLists.count <= Int(symbol) {
            memberLists.append([])
            bits.append(contentsOf: repeatElement(0, count: wordsPerRow))
        }
    }
}
