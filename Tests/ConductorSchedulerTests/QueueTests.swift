import Synchronization
import Testing
@testable import ConductorScheduler

/// An element that names its producer and its place in that producer's sequence.
private struct Stamp: Sendable {
    let producer: Int
    let sequence: Int
}

/// A consumer owned by an actor, as the controller's scheduler will own it: this compiles only because waiting
/// runs in the actor's isolation.
private actor DrainingActor {
    private let consumer: AssignmentQueueConsumer<Int>
    private(set) var received: [Int] = []

    init(consumer: sending AssignmentQueueConsumer<Int>) {
        self.consumer = consumer
    }

    func receive(count: Int) async {
        while received.count < count, await consumer.waitForElements() {
            received += consumer.drain(max: 16)
        }
    }
}

@Suite struct AssignmentQueueTests {
    @Test func drainsInOrderAndRespectsTheBatchLimit() {
        let (queue, consumer) = AssignmentQueue<Int>.make()
        #expect(consumer.drain(max: 10).isEmpty)
        #expect(!consumer.hasElements)
        for value in 0..<10 { queue.enqueue(value) }
        #expect(consumer.hasElements)
        #expect(consumer.drain(max: 4) == [0, 1, 2, 3])
        #expect(consumer.drain(max: 100) == [4, 5, 6, 7, 8, 9])
        #expect(consumer.drain(max: 100).isEmpty)
    }

    @Test(.timeLimit(.minutes(2)))
    func everyElementOfManyProducersArrivesOnceAndInEachProducersOrder() async {
        let producers = 8
        let perProducer = 20_000
        let (queue, consumer) = AssignmentQueue<Stamp>.make()
        var nextExpected = [Int](repeating: 0, count: producers)
        var outOfOrder = 0
        var total = 0
        await withTaskGroup(of: Void.self) { group in
            for producer in 0..<producers {
                group.addTask {
                    for sequence in 0..<perProducer {
                        queue.enqueue(Stamp(producer: producer, sequence: sequence))
                        // Yield now and then so that producers interleave on two cores and the consumer parks.
                        if sequence % 1024 == 0 { await Task.yield() }
                    }
                }
            }
            while total < producers * perProducer, await consumer.waitForElements() {
                for stamp in consumer.drain(max: 64) {
                    if stamp.sequence != nextExpected[stamp.producer] { outOfOrder += 1 }
                    nextExpected[stamp.producer] = stamp.sequence + 1
                    total += 1
                }
            }
            await group.waitForAll()
        }
        #expect(total == producers * perProducer)
        #expect(outOfOrder == 0)
        #expect(nextExpected == [Int](repeating: perProducer, count: producers))
        #expect(consumer.drain(max: 1).isEmpty)
    }

    @Test(.timeLimit(.minutes(1)))
    func aParkedConsumerWakesForAnElementEnqueuedLater() async {
        let (queue, consumer) = AssignmentQueue<Int>.make()
        let drainer = DrainingActor(consumer: consumer)
        async let drained: Void = drainer.receive(count: 3)
        // The drainer may or may not be parked by now; both orders must deliver everything.
        for value in [7, 8, 9] {
            await Task.yield()
            queue.enqueue(value)
        }
        await drained
        #expect(await drainer.received == [7, 8, 9])
    }

    @Test(.timeLimit(.minutes(1)))
    func waitingEndsWithFalseWhenTheWaitingTaskIsCancelled() async {
        let (_, consumer) = AssignmentQueue<Int>.make()
        let drainer = DrainingActor(consumer: consumer)
        let waiting = Task { await drainer.receive(count: 1) }
        waiting.cancel()
        await waiting.value
        #expect(await drainer.received.isEmpty)
    }

    @Test func elementsLeftInTheQueueAreReleasedWithIt() {
        final class Tracked: Sendable {
            let onDeinit: @Sendable () -> Void
            init(onDeinit: @escaping @Sendable () -> Void) { self.onDeinit = onDeinit }
            deinit { onDeinit() }
        }
        let released = Counter()
        do {
            let (queue, consumer) = AssignmentQueue<Tracked>.make()
            for _ in 0..<5 { queue.enqueue(Tracked { released.increment() }) }
            _ = consumer.drain(max: 2)
            #expect(released.value == 2)
        }
        #expect(released.value == 5)
    }
}

private final class Counter: Sendable {
    private let count = Atomic<Int>(0)
    var value: Int { count.load(ordering: .sequentiallyConsistent) }
    func increment() { count.add(1, ordering: .sequentiallyConsistent) }
}
