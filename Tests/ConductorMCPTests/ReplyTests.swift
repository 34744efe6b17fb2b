import KubeJSON
import Synchronization
import Testing

@testable import ConductorMCP

struct ReplyTests {
    @Test func aLaterReplyRunsItsWaitOnceWhenItsValueIsAskedAndMapsItsAnswer() async {
        let runs = Mutex(0)
        let reply = Reply.later {
            runs.withLock { $0 += 1 }
            return ["done": true]
        }.map { answer in ["wrapped": answer] }
        #expect(runs.withLock { $0 } == 0)
        #expect(await reply.value() == ["wrapped": ["done": true]])
        #expect(runs.withLock { $0 } == 1)
        #expect(await Reply.now(nil).map { _ in ["never": true] }.value() == nil)
    }

    @Test func aReplyAnsweredByCallbackGivesItsMappedAnswerToAWaitingReader() async {
        // The callback is called later, from another task, as a wait's end calls it.
        let reply = Reply.whenReady { deliver in Task { deliver(["done": true]) } }.map { answer in ["wrapped": answer] }
        let reader = Task { await reply.value() }
        #expect(await reader.value == ["wrapped": ["done": true]])
        // Nil (cancelled) stays nil through map.
        #expect(await Reply.whenReady { deliver in deliver(nil) }.map { _ in ["never": true] }.value() == nil)
    }

    @Test func theFirstStepRunsInATaskOfItsOwnThatTheCallersCancellationReaches() async {
        let outer = Task {
            await inOwnTask {
                // Ends at once when the cancellation is forwarded; after a minute (and the test fails) if not.
                try? await Task.sleep(for: .seconds(60))
                return Task.isCancelled
            }
        }
        outer.cancel()
        #expect(await outer.value)
    }

    @Test func settledAnswersWithTheReplyOfTheFirstStep() async {
        #expect(await Reply.settled { .later { ["n": 1] } } == ["n": 1])
        #expect(await Reply.settled { .now(["n": 2]) } == ["n": 2])
    }
}
