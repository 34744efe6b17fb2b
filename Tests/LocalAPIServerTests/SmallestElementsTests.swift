import Testing
@testable import LocalAPIServer

@Suite struct SmallestElementsTests {
    @Test(arguments: [0, 1, 2, 7, 499, 500, 501, 1_000, 1_500])
    func keepsWhatASortWouldPutFirstInItsOrder(count: Int) {
        var generator = SystemRandomNumberGenerator()
        for size in [0, 1, 2, 500, 1_000] {
            let values = (0..<size).map { _ in "key-\(UInt32.random(in: 0...1_000_000, using: &generator))" }
            var kept = values
            kept.keepSmallest(count, by: <)
            #expect(kept == Array(values.sorted().prefix(count)), "size \(size)")
        }
    }

    @Test func equalElementsAndSortedOrReversedInput() {
        for values in [Array(repeating: 3, count: 50) + [1, 2], Array(0..<200), Array((0..<200).reversed())] {
            var kept = values
            kept.keepSmallest(10, by: <)
            #expect(kept == Array(values.sorted().prefix(10)))
        }
    }
}
