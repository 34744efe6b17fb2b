import ConductorTestSupport
@testable import KubeClient
import Testing

@Suite struct DeliveryBudgetTests {
    @Test func aProducerWaitsOverTheLimitUntilHalfIsTaken() async throws {
        let budget = DeliveryBudget(limit: 4)
        budget.delivered(4)
        await budget.waitForRoom()  // at the limit, not over it: goes on
        budget.delivered()
        let producer = Task { await budget.waitForRoom() }
        try await waitUntil("the producer waits") { budget.waitingProducers == 1 }
        budget.taken()
        budget.taken()
        #expect(budget.waitingProducers == 1, "three outstanding is more than half of four")
        budget.taken()
        await producer.value
        #expect(budget.outstanding == 2 && budget.waitingProducers == 0)
    }

    @Test func anEndedConsumerOrACancelledProducerReleasesTheWait() async throws {
        let budget = DeliveryBudget(limit: 1)
        budget.delivered(5)
        let cancelled = Task { await budget.waitForRoom() }
        try await waitUntil("the producer waits") { budget.waitingProducers == 1 }
        cancelled.cancel()
        await cancelled.value
        #expect(budget.waitingProducers == 0)

        let producer = Task { await budget.waitForRoom() }
        try await waitUntil("the producer waits") { budget.waitingProducers == 1 }
        budget.end()
        await producer.value
        await budget.waitForRoom()  // once ended, never waits again
    }

    @Test func theStreamCountsWhatItsConsumerTakesAndEndsTheBudgetAtItsEnd() async {
        let budget = DeliveryBudget(limit: 10)
        let (base, continuation) = AsyncStream.makeStream(of: Int.self)
        for value in 1...3 { continuation.yield(value) }
        budget.delivered(3)
        continuation.finish()
        var taken: [Int] = []
        for await value in BoundedStream(base, budget: budget) {
            taken.append(value)
            #expect(budget.outstanding == 3 - taken.count)
        }
        #expect(taken == [1, 2, 3])
        budget.delivered(20)
        await budget.waitForRoom()  // the stream ended the budget
    }
}
