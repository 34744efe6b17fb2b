import KubeJSON
import Testing

@testable import ConductorMCP

struct JSONRPCMessageTests {
    private func parse(_ text: String) throws(JSONRPCError) -> JSONRPCMessage {
        try JSONRPCMessage.parse(Array(text.utf8))
    }

    @Test func requestsNotificationsAndResponsesAreTold() throws {
        #expect(try parse(#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#) == .request(id: .number(1), method: "ping", params: nil))
        #expect(try parse(#"{"jsonrpc":"2.0","id":"a","method":"tools/list","params":{}}"#)
            == .request(id: .string("a"), method: "tools/list", params: [:]))
        #expect(try parse(#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#)
            == .notification(method: "notifications/initialized", params: nil))
        #expect(try parse(#"{"jsonrpc":"2.0","id":3,"result":{}}"#) == .response(id: .number(3)))
    }

    @Test func theStringOneAndTheNumberOneAreDifferentIds() {
        #expect(JSONRPCID.string("1").description != JSONRPCID.number(1).description)
        #expect(JSONRPCID(.double(2.0)) == .number(2))
        #expect(JSONRPCID(.double(2.5)) == nil)
        #expect(JSONRPCID(.null) == nil)
    }

    @Test(arguments: [
        ("{oops", -32700),
        ("", -32700),
        ("[]", -32600),
        (#"[{"jsonrpc":"2.0","id":1,"method":"ping"}]"#, -32600),
        ("42", -32600),
        (#"{"id":1,"method":"ping"}"#, -32600),
        (#"{"jsonrpc":"2.0","id":null,"method":"ping"}"#, -32600),
        (#"{"jsonrpc":"2.0","id":{},"method":"ping"}"#, -32600),
        (#"{"jsonrpc":"2.0","id":1,"method":7}"#, -32600),
        (#"{"jsonrpc":"2.0","id":1,"method":"x","params":3}"#, -32600),
        (#"{"jsonrpc":"2.0","id":1}"#, -32600),
    ])
    func badMessagesGetTheirCodes(_ text: String, _ code: Int) {
        #expect { try parse(text) } throws: { ($0 as? JSONRPCError)?.code == code }
    }

    @Test func answersAreWellFormed() {
        #expect(JSONRPCMessage.result(id: .number(1), [:]).text == #"{"jsonrpc":"2.0","id":1,"result":{}}"#)
        #expect(JSONRPCMessage.error(id: nil, .methodNotFound("x")).text
            == #"{"jsonrpc":"2.0","id":null,"error":{"code":-32601,"message":"Method not found: x"}}"#)
    }

    @Test func versionsNegotiateDownToTheClientsOrUpToTheLatest() {
        #expect(ProtocolVersion.negotiate("2025-06-18") == "2025-06-18")
        #expect(ProtocolVersion.negotiate("2025-03-26") == "2025-03-26")
        #expect(ProtocolVersion.negotiate("2024-11-05") == "2025-11-25")
        #expect(ProtocolVersion.negotiate(nil) == "2025-11-25")
    }
}
