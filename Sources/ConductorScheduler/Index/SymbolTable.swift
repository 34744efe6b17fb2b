/// Interns names (capabilities or tags) as dense integers, so that a decision compares and indexes integers
/// rather than hashing strings once per candidate agent.
///
/// A symbol is never reused for another name: decisions and waiting tasks hold symbols. The table only grows;
/// the scheduler replaces it with a renumbered one once names nothing refers to any more may have piled up.
struct SymbolTable: Sendable {
    private var symbols: [String: Int32] = [:]

    /// The names interned.
    var count: Int { symbols.count }

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
