import ConductorTestSupport
import KubeClient
import KubeJSON
import Synchronization
import Testing

@testable import ConductorController
@testable import ConductorMCP

/// What a waiting call's answer stream writes from its callbacks, on a `ManualClock`: the priming event first,
/// notifications numbered in order, keep-alives between them, the answer, the end, and nothing after the end.
@Suite(.timeLimit(.minutes(1))) struct EventStreamTests {
    /// An output that records what it was given.
    final class Recorded: EventStreamOutput {
        struct Write: Equatable {
            var text: String
            var droppable: Bool
        }

        private let state = Mutex<(writes: [Write], ends: Int)>(([], 0))
        var writes: [Write] { state.withLock { $0.writes } }
        var ends: Int { state.withLock { $0.ends } }

        func write(_ text: String, droppable: Bool) {
            state.withLock { $0.writes.append(Write(text: text, droppable: droppable)) }
        }

        func end() {
            state.withLock { $0.ends += 1 }
        }
    }

    @Test func aStreamIsPrimedNumbersItsMessagesKeepsAliveAndWritesNothingAfterItsEnd() async throws {
        let clock = ManualClock()
        let timers = TimerQueue(clock: clock)
        let output = Recorded()
        let events = EventStream(id: "s", output: output, keepAlive: .seconds(25), timers: timers)
        #expect(output.writes == [.init(text: "id: s-0\ndata: \n\n", droppable: false)])

        events.send(["method": "notifications/progress"])
        #expect(output.writes.last == .init(text: "event: message\nid: s-1\ndata: {\"method\":\"notifications/progress\"}\n\n", droppable: true))
        try await waitUntil("the keep-alive is scheduled") { clock.nextWakeUp != nil }
        clock.advance(by: .seconds(25))
        try await waitUntil("a keep-alive was written") { output.writes.count == 3 }
        #expect(output.writes.last == .init(text: ": keep-alive\n\n", droppable: true))
        try await waitUntil("the next keep-alive is scheduled") { timers.pendingCount == 1 }

        events.finish(["result": 1])
        #expect(output.writes.last == .init(text: "event: message\nid: s-2\ndata: {\"result\":1}\n\n", droppable: false))
        #expect(output.ends == 1)
        #expect(timers.pendingCount == 0)
        // After the end: neither a notification that raced the answer, nor a second answer, nor a keep-alive.
        events.send(["method": "late"])
        events.finish(["result": 2])
        clock.advance(by: .seconds(60))
        try await waitUntil("the timers' driver ended") { !timers.isDriving }
        #expect(output.writes.count == 4 && output.ends == 1)
    }

    @Test func aStreamWhoseRequestSendsRegularlyStopsItsKeepAlives() async throws {
        let clock = ManualClock()
        let timers = TimerQueue(clock: clock)
        let output = Recorded()
        let events = EventStream(id: "s", output: output, keepAlive: .seconds(25), timers: timers)
        try await waitUntil("the keep-alive is scheduled") { timers.pendingCount == 1 }
        events.stopKeepAlives()
        #expect(timers.pendingCount == 0)
        clock.advance(by: .seconds(60))
        try await waitUntil("the timers' driver ended") { !timers.isDriving }
        #expect(output.writes.count == 1)  // the priming event only
        events.send(["method": "notifications/progress"])
        events.finish(["result": 1])
        #expect(output.writes.count == 3 && output.ends == 1)
    }

    @Test func aStreamIsFreedOnceItEnded() {
        // Its keep-alive timer holds it while it runs; a stream kept after its end would keep its connection.
        let timers = TimerQueue(clock: ManualClock())
        weak var freed: EventStream?
        do {
            let events = EventStream(id: "s", output: Recorded(), keepAlive: .seconds(25), timers: timers)
            freed = events
            events.finish(["result": 1])
        }
        #expect(freed == nil)
    }

    @Test func aCancelledRequestEndsItsStreamWithoutAnAnswer() {
        let output = Recorded()
        let events = EventStream(id: "s", output: output, keepAlive: .seconds(25), timers: TimerQueue(clock: ManualClock()))
        events.finish(nil)
        #expect(output.writes.count == 1 && output.ends == 1)
    }
}
