@testable import ConductorController
import ConductorTestSupport
import KubeClient
import Synchronization
import Testing

/// Many timers on one sleeping task, on a `ManualClock`: each action runs once the clock reaches its instant and
/// not before, in order; cancelled ones never run; an earlier entry wakes the sleeping driver; the driver ends
/// when nothing is left, and cancelled entries do not pile up.
@Suite(.timeLimit(.minutes(1))) struct TimerQueueTests {
    /// What ran, in order.
    final class Ran: Sendable {
        private let names = Mutex<[String]>([])
        func append(_ name: String) { names.withLock { $0.append(name) } }
        var all: [String] { names.withLock { $0 } }
    }

    @Test func actionsRunInTheOrderOfTheirInstantsAndNotBefore() async throws {
        let clock = ManualClock()
        let queue = TimerQueue(clock: clock)
        let ran = Ran()
        queue.schedule(after: .seconds(3)) { ran.append("c") }
        queue.schedule(after: .seconds(1)) { ran.append("a") }
        queue.schedule(after: .seconds(2)) { ran.append("b") }
        try await waitUntil("the driver sleeps until the first instant") { clock.nextWakeUp == clock.now.advanced(by: .seconds(1)) }

        clock.advance(by: .seconds(1) - .nanoseconds(1))
        #expect(ran.all.isEmpty)
        clock.advance(by: .nanoseconds(1))
        try await waitUntil("a ran") { ran.all == ["a"] }
        clock.advance(by: .seconds(5))
        try await waitUntil("b and c ran") { ran.all == ["a", "b", "c"] }
        try await waitUntil("the driver ended") { !queue.isDriving }
        #expect(queue.pendingCount == 0 && clock.sleeperCount == 0)
    }

    @Test func aCancelledActionNeverRunsAndTheDriverSleepsForTheNextLiveOne() async throws {
        let clock = ManualClock()
        let queue = TimerQueue(clock: clock)
        let ran = Ran()
        let first = queue.schedule(after: .seconds(1)) { ran.append("cancelled") }
        queue.schedule(after: .seconds(10)) { ran.append("kept") }
        try await waitUntil("the driver sleeps for the first") { clock.nextWakeUp == clock.now.advanced(by: .seconds(1)) }

        #expect(queue.cancel(first))
        #expect(!queue.cancel(first))
        try await waitUntil("the driver sleeps for the kept one") {
            clock.nextWakeUp == clock.now.advanced(by: .seconds(10)) && clock.sleeperCount == 1
        }
        clock.advance(by: .seconds(10))
        try await waitUntil("the kept one ran") { ran.all == ["kept"] }
    }

    @Test func anEarlierEntryWakesTheSleepingDriver() async throws {
        let clock = ManualClock()
        let queue = TimerQueue(clock: clock)
        let ran = Ran()
        queue.schedule(after: .seconds(60)) { ran.append("late") }
        try await waitUntil("the driver sleeps a minute") { clock.nextWakeUp == clock.now.advanced(by: .seconds(60)) }

        queue.schedule(after: .seconds(1)) { ran.append("early") }
        try await waitUntil("the driver sleeps for the early one") { clock.nextWakeUp == clock.now.advanced(by: .seconds(1)) }
        clock.advance(by: .seconds(1))
        try await waitUntil("the early one ran") { ran.all == ["early"] }
        #expect(queue.pendingCount == 1)
    }

    @Test func anInstantAlreadyPastRunsAtOnce() async throws {
        let clock = ManualClock()
        let queue = TimerQueue(clock: clock)
        let ran = Ran()
        queue.schedule(at: clock.now.advanced(by: .seconds(-1))) { ran.append("past") }
        try await waitUntil("it ran without the clock moving") { ran.all == ["past"] }
    }

    @Test func cancelledEntriesDoNotPileUpInTheHeap() async throws {
        let clock = ManualClock()
        let queue = TimerQueue(clock: clock)
        // Each waits an hour and is cancelled at once, as a waiting call's limit is when its task ends first.
        for _ in 0..<10_000 {
            queue.cancel(queue.schedule(after: .seconds(3600)) {})
        }
        #expect(queue.pendingCount == 0)
        #expect(queue.heapCount <= 130)
        let kept = queue.schedule(after: .seconds(3600)) {}
        for _ in 0..<1000 {
            queue.cancel(queue.schedule(after: .seconds(3600)) {})
        }
        #expect(queue.pendingCount == 1 && queue.heapCount <= 130)
        queue.cancel(kept)
        try await waitUntil("the driver ended with nothing left") { !queue.isDriving }
    }

    @Test func theTableOfEntriesShrinksBackAfterALoad() async throws {
        let clock = ManualClock()
        let queue = TimerQueue(clock: clock)
        // Ten thousand calls' limits at once, then all cancelled (their tasks ended) or run (their limits passed).
        let entries = (0..<10_000).map { n in queue.schedule(after: .seconds(n % 2 == 0 ? 60 : 3600)) {} }
        let loaded = queue.actionCapacity
        #expect(loaded >= 10_000)
        for entry in entries.enumerated() where entry.offset % 2 == 1 { queue.cancel(entry.element) }
        clock.advance(by: .seconds(60))
        try await waitUntil("every entry ran or was cancelled") { queue.pendingCount == 0 }
        #expect(queue.actionCapacity <= 64, "room for \(queue.actionCapacity) entries kept after the load (\(loaded) at its peak)")
        try await waitUntil("the driver ended with nothing left") { !queue.isDriving }
    }
}
