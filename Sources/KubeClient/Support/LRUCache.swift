/// A map that holds at most `capacity` entries and forgets the least recently used ones, as the LRU caches
/// behind client-go's event correlation do. When it overflows it drops the least recent quarter at once, so
/// eviction costs O(log n) amortised instead of a linked list per entry.
struct LRUCache<Key: Hashable, Value> {
    private var entries: [Key: (value: Value, lastUse: UInt64)] = [:]
    private var uses: UInt64 = 0
    let capacity: Int

    init(capacity: Int) {
        precondition(capacity > 0, "an LRU cache needs room for one entry")
        self.capacity = capacity
    }

    var count: Int { entries.count }

    /// The value, which becomes the most recently used.
    mutating func value(for key: Key) -> Value? {
        guard let entry = entries[key] else { return nil }
        uses += 1
        entries[key] = (entry.value, uses)
        return entry.value
    }

    mutating func set(_ value: Value, for key: Key) {
        uses += 1
        entries[key] = (value, uses)
        if entries.count > capacity {
            let leastRecent = entries.sorted { $0.value.lastUse < $1.value.lastUse }.prefix(max(1, capacity / 4))
            for (key, _) in leastRecent { entries.removeValue(forKey: key) }
        }
    }
}

extension LRUCache: Sendable where Key: Sendable, Value: Sendable {}
