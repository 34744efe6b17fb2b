/// Interns names (capabilities or tags) as dense integers, so that a decision compares and indexes integers
/// rather than hashing strings once per candidate agent.
struct SymbolTable: Sendable {
    private var symbols: [String: Int32] = [:]

    func symbol(for name: String) -> Int32? {
        symbols[name]
    }

    mutating func intern(_ name: String) -> Int32 {
        if let symbol = symbols[name] { return symbol }
        let symbol = Int32(symbols.count)
        symbols[name] = symbol
        return symbol
    }
}
