import KubeJSON
import Testing

@testable import ConductorMCP

struct ReplyTests {
    @Test func aReplyAnsweredByCallbackGivesItsMappedAnswerToAWaitingReader() async {
        // The callback is called later, from another task, as a wait's end calls it.
        let reply = Reply.whenReady { deliver in Task { deliver(["done": true]) } }.map { answer in ["wrapped": answer] }
        let reader = Task { await reply.value() }
        #expect(await reader.value == ["wrapped": ["done": true]])
        // Nil (cancelled) stays nil through map.
        #expect(await Reply.whenReady { deliver in deliver(nil) }.map { _ in ["never": true] }.value() == nil)
        #expect(await Reply.now(nil).map { _ in ["never": true] }.value() == nil)
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
}
