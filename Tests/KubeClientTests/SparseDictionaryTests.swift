import KubeClient
import Testing

/// `shrinkIfSparse`: a dictionary gives its room back once under a quarter full, keeps its entries, and is left
/// alone while small or well filled.
struct SparseDictionaryTests {
    @Test func aDictionaryUnderAQuarterFullGivesItsRoomBackAndKeepsItsEntries() {
        var table = Dictionary(uniqueKeysWithValues: (0..<10_000).map { ($0, "v\($0)") })
        let loaded = table.capacity
        for key in 0..<6_000 { table[key] = nil }
        table.shrinkIfSparse()
        #expect(table.capacity == loaded, "over a quarter full: kept")
        for key in 6_000..<9_990 { table[key] = nil }
        table.shrinkIfSparse()
        #expect(table.capacity < 64 && table.count == 10)
        #expect(table[9_995] == "v9995")
        var small = [1: "a"]
        small.reserveCapacity(40)
        let capacity = small.capacity
        small.shrinkIfSparse()
        #expect(small.capacity == capacity, "64 slots or fewer are left alone")
    }
}
