extension Array {
    /// Keeps the `count` smallest elements by `areInIncreasingOrder`, in that order, and drops the rest: a selection
    /// (quickselect's partition, then a sort of what is kept) in about n + k log k comparisons, where sorting the
    /// whole array would take n log n.
    mutating func keepSmallest(_ count: Int, by areInIncreasingOrder: (Element, Element) -> Bool) {
        guard count < self.count else {
            sort(by: areInIncreasingOrder)
            return
        }
        guard count > 0 else {
            removeAll()
            return
        }
        var low = 0, high = self.count - 1
        var generator = SystemRandomNumberGenerator()
        // Partition until the element at `count - 1` is the one a full sort would put there.
        while low < high {
            swapAt(Int.random(in: low...high, using: &generator), high)
            var store = low
            for index in low..<high where areInIncreasingOrder(self[index], self[high]) {
                swapAt(index, store)
                store += 1
            }
            swapAt(store, high)
            if store == count - 1 { break }
            if store < count - 1 { low = store + 1 } else { high = store - 1 }
        }
        removeSubrange(count...)
        sort(by: areInIncreasingOrder)
    }
}
