import KubeJSON
import Testing

@testable import ConductorMCP

struct ResumeTokenTests {
    @Test func aStreamsEventIDGivesBackItsTokenAndSequence() throws {
        let token = ResumeToken(task: "mcp-0123", request: .string("call-1"), progressToken: 7, salt: "ab")
        let parsed = try #require(ResumeToken.parse(lastEventID: token.streamID + "-12"))
        #expect(parsed.token == token)
        #expect(parsed.sequence == 12)
        #expect(token.streamID.utf8.allSatisfy { (0x21...0x7E).contains($0) })
    }

    @Test(arguments: ["g123-0", "rabc-3", "c-1", "cnotbase64!-2", "c" + Base64URL.encode(Array(#"{"t":"x"}"#.utf8)) + "-1", ""])
    func otherIDsAreNotResumeTokens(_ id: String) {
        #expect(ResumeToken.parse(lastEventID: id) == nil)
    }

    @Test func aCallsTaskNameIsDerivedFromItsSessionAndRequestOrItsKey() {
        let caller = Caller(username: "alice")
        let plain = TaskRequest(capabilities: ["x"], payload: [:], options: CallOptions(), caller: caller, request: "n1 1")
        #expect(TaskSubmitter.derivedName(for: plain) == TaskSubmitter.callName("n1 1"))
        var keyed = plain
        keyed.options.idempotencyKey = "k"
        #expect(TaskSubmitter.derivedName(for: keyed) == TaskSubmitter.name(caller: caller, idempotencyKey: "k"))
        var submitted = plain
        submitted.request = nil
        #expect(TaskSubmitter.derivedName(for: submitted) == nil)
    }
}
