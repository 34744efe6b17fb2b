extension Dictionary {
    /// Gives storage back after removals. A dictionary keeps the capacity of its largest size for good: a
    /// registry that once held ten thousand waiting calls would keep room for them while it holds none. Rebuilt
    /// once under a quarter full (above 64 slots), so that the copy's cost is spread over the removals that made
    /// it sparse.
    public mutating func shrinkIfSparse() {
        guard capacity > 64, count * 4 < capacity else { return }
        self = Dictionary(uniqueKeysWithValues: map { ($0.key, $0.value) })
    }
}
