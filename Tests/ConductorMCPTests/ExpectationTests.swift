import HTTPTypes
import Testing

@testable import ConductorMCP

/// What `RequestDispatchHandler` does for a request's `Expect` header, before its body arrives.
struct ExpectationTests {
    func head(_ fields: [(HTTPField.Name, String)]) -> HTTPRequest {
        var head = HTTPRequest(method: .post, scheme: nil, authority: "127.0.0.1", path: "/mcp")
        for (name, value) in fields { head.headerFields.append(HTTPField(name: name, value: value)) }
        return head
    }

    @Test func onlyA100ContinueWithinTheLimitIsAskedForItsBody() {
        let limit = 1_000
        #expect(RequestDispatchHandler.expectation(of: head([(.contentLength, "10")]), bodyLimit: limit) == .none)
        #expect(RequestDispatchHandler.expectation(of: head([(.expect, "100-Continue"), (.contentLength, "1000")]), bodyLimit: limit) == .continue)
        // No declared length (a chunked body): its size is known only as it comes, so it is asked for.
        #expect(RequestDispatchHandler.expectation(of: head([(.expect, "100-continue")]), bodyLimit: limit) == .continue)
        #expect(RequestDispatchHandler.expectation(of: head([(.expect, "100-continue"), (.contentLength, "1001")]), bodyLimit: limit)
            == .answerWithoutBody)
        // Another expectation is ignored, not refused.
        #expect(RequestDispatchHandler.expectation(of: head([(.expect, "something-else"), (.contentLength, "5000")]), bodyLimit: limit) == .none)
    }
}
