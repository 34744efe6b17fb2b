import ConductorScheduler

/// Producers enqueue as fast as they can while one consumer drains in batches of 64; reports elements per
/// second from the first enqueue to the last element drained.
struct QueueBenchmark<Element: Sendable> {
    let producers: Int
    let elementsPerProducer: Int
    let makeElement: @Sendable (Int) -> Element

    func run() async -> Double {
        let (queue, consumer) = AssignmentQueue<Element>.make()
        let total = producers * elementsPerProducer
        let clock = ContinuousClock()
        let start = clock.now
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<producers {
                group.addTask {
                    for index in 0..<elementsPerProducer { queue.enqueue(makeElement(index)) }
                }
            }
            var received = 0
            while received < total, await consumer.waitForElements() {
                received += consumer.drain(max: 64).count
            }
        }
        let seconds = (clock.now - start).microseconds / 1e6
        return Double(total) / seconds
    }
}
