/// For each symbol (a capability, or a tag), the set of agents that have it.
struct AgentSetIndex: Sendable {
    private var rows: [AgentBitmap] = []

    private static let emptyRow = AgentBitmap()

    func agents(with symbol: Int32) -> AgentBitmap {
        Int(symbol) < rows.count ? rows[Int(symbol)] : Self.emptyRow
    }

    func memberCount(of symbol: Int32) -> Int {
        Int(symbol) < rows.count ? rows[Int(symbol)].count : 0
    }

    @inline(__always)
    func contains(agent: Int32, symbol: Int32) -> Bool {
        Int(symbol) < rows.count && rows[Int(symbol)].contains(agent)
    }

    mutating func insert(agent: Int32, symbol: Int32) {
        while rows.count <= Int(symbol) { rows.append(AgentBitmap()) }
        rows[Int(symbol)].insert(agent)
    }

    mutating func remove(agent: Int32, symbol: Int32) {
        guard Int(symbol) < rows.count else { return }
        rows[Int(symbol)].remove(agent)
    }
}
