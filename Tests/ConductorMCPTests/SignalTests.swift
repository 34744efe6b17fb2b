import Synchronization
import Testing

@testable import ConductorMCP

struct SignalTests {
    final class Counter: Sendable {
        private let value = Synchronization.Mutex(0)
        func add() { value.withLock { $0 += 1 } }
        var count: Int { value.withLock { $0 } }
    }

    @Test func actionsRunOnceOnFireAndAtOnceAfterIt() {
        let signal = Signal()
        let counter = Counter()
        signal.onFire { counter.add() }
        let removed = signal.onFire { counter.add() }
        signal.remove(removed)
        #expect(counter.count == 0)
        signal.fire()
        signal.fire()
        #expect(counter.count == 1)
        signal.onFire { counter.add() }
        #expect(counter.count == 2)
    }

    @Test func oneActionNeedsNoTableAndEveryRegistrationStaysItsOwn() {
        // A call's own signals get one action each: that one is kept without a dictionary.
        let signal = Signal()
        let counter = Counter()
        let first = signal.onFire { counter.add() }
        #expect(signal.actionCapacity == 0)
        let second = signal.onFire { counter.add(); counter.add() }
        #expect(signal.actionCapacity > 0)
        signal.remove(first)
        signal.remove(first)  // removing twice removes nothing else
        let third = signal.onFire { counter.add(); counter.add(); counter.add() }
        #expect(first != second && second != third && first != third)
        signal.fire()
        #expect(counter.count == 5)  // the second and the third, once each
    }

    @Test func itsTableOfActionsShrinksBackOnceTheyAreRemoved() {
        // The shutdown signal holds an action per waiting call; a burst of calls must not leave its room behind.
        let signal = Signal()
        let registrations = (0..<10_000).map { _ in signal.onFire {} }
        #expect(signal.actionCapacity >= 10_000)
        for registration in registrations { signal.remove(registration) }
        #expect(signal.actionCapacity <= 64)
    }

    @Test func waitersReturnWhenItFires() async {
        let signal = Signal()
        await withDiscardingTaskGroup { group in
            for _ in 0..<3 { group.addTask { await signal.wait() } }
            signal.fire()
        }
        await signal.wait()  // already fired: returns at once
        #expect(signal.hasFired)
    }

    @Test func aCancelledWaiterReturnsWithoutTheSignal() async {
        let signal = Signal()
        let waiter = Task { await signal.wait() }
        waiter.cancel()
        await waiter.value
        #expect(!signal.hasFired)
    }

    @Test func callsAreCountedPerCallerAndReleased() {
        let calls = InFlightCalls(limitPerCaller: 2)
        let first = calls.register("s 1", caller: "alice")
        let second = calls.register("s 2", caller: "alice")
        #expect(first != nil && second != nil)
        #expect(calls.register("s 3", caller: "alice") == nil)
        #expect(calls.register("t 1", caller: "bob") != nil)
        calls.unregister("s 1", signal: first!)
        #expect(calls.count(of: "alice") == 1)
        #expect(calls.cancel("s 2") && second!.hasFired)
        #expect(!calls.cancel("s 9"))
    }

    @Test func aReusedRequestIDStillCountsTheWaitItReplacedUntilThatEnds() {
        let calls = InFlightCalls()
        let first = calls.register("s 1", caller: "alice")!
        let second = calls.register("s 1", caller: "alice")!
        #expect(calls.count == 2, "the first call still waits, though the id now names the second")
        calls.unregister("s 1", signal: first)
        #expect(calls.count == 1)
        #expect(calls.cancel("s 1") && second.hasFired && !first.hasFired)
        calls.unregister("s 1", signal: second)
        #expect(calls.count == 0)
    }

    @Test func everyWaitOutcomeHasItsMetricValue() {
        let task = TaskHandleTests.task()
        let outcomes: [WaitOutcome] = [.final(task), .timedOut(task), .cancelled, .stopping(task), .lost("gone"), .abandoned]
        #expect(outcomes.map(\.metricValue) == WaitOutcome.metricValues)
    }

    @Test func reviewVerdictsExpire() async {
        let cache = ReviewCache<Bool>(lifetime: .milliseconds(50))
        cache.put("k", true)
        #expect(cache.get("k") == true)
        // Expiry, awaited with a deadline rather than a fixed sleep.
        let deadline = ContinuousClock.now + .seconds(5)
        while cache.get("k") != nil, ContinuousClock.now < deadline { await Task.yield() }
        #expect(cache.get("k") == nil)
    }
}
