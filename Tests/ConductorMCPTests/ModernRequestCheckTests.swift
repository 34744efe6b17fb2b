import HTTPTypes
import KubeJSON
import Testing

@testable import ConductorMCP

/// The 2026-07-28 request ladder: envelope, then headers against the body, then the version.
struct ModernRequestCheckTests {
    static let envelope: JSON = [
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": ["extensions": ["io.modelcontextprotocol/tasks": [:]]],
    ]

    static func headers(method: String = "tools/call", name: String? = "echo", version: String? = "2026-07-28") -> HTTPFields {
        var fields = HTTPFields()
        if let version { fields[MCPHTTPEndpoint.versionHeader] = version }
        fields[ModernRequestCheck.methodHeader] = method
        if let name { fields[ModernRequestCheck.nameHeader] = name }
        return fields
    }

    @Test func aConsistentRequestPassesWithItsEnvelope() throws {
        let meta = try ModernRequestCheck.check(method: "tools/call", params: ["name": "echo", "_meta": Self.envelope], headers: Self.headers())
        #expect(meta.protocolVersion == "2026-07-28")
        #expect(meta.declaresTasks)
        #expect(!(try RequestMeta(params: ["_meta": ["io.modelcontextprotocol/protocolVersion": "2026-07-28",
                                                     "io.modelcontextprotocol/clientCapabilities": [:]]])).declaresTasks)
    }

    static let refusals: [(String, JSON, HTTPFields, Int)] = [
        ("tools/call", ["name": "echo"], headers(), -32602),
        ("tools/call", ["name": "echo", "_meta": ["io.modelcontextprotocol/protocolVersion": "2026-07-28"]], headers(), -32602),
        ("tools/call", ["name": "echo", "_meta": envelope], headers(version: nil), -32020),
        ("tools/call", ["name": "echo", "_meta": envelope], headers(method: "tools/list"), -32020),
        ("tools/call", ["name": "echo", "_meta": envelope], headers(name: "other"), -32020),
        ("tools/call", ["name": "echo", "_meta": envelope], headers(name: nil), -32020),
        ("tasks/get", ["taskId": "mcp-1", "_meta": envelope], headers(method: "tasks/get", name: "mcp-2"), -32020),
        ("tools/call", ["name": "echo", "_meta": ["io.modelcontextprotocol/protocolVersion": "2099-01-01",
                                                  "io.modelcontextprotocol/clientCapabilities": [:]]],
         headers(version: "2099-01-01"), -32022),
    ]

    @Test(arguments: refusals)
    func theFirstFailingRungAnswers(_ method: String, _ params: JSON, _ headers: HTTPFields, _ code: Int) {
        let error = #expect(throws: JSONRPCError.self) { try ModernRequestCheck.check(method: method, params: params, headers: headers) }
        #expect(error?.code == code)
        #expect(error?.statelessHTTPStatus == 400)
    }

    @Test func theTasksExtensionsNamesAreCheckedOnlyWhenSent() throws {
        let meta = try ModernRequestCheck.check(method: "tasks/get", params: ["taskId": "mcp-1", "_meta": Self.envelope],
                                                headers: Self.headers(method: "tasks/get", name: nil))
        #expect(meta.protocolVersion == "2026-07-28")
    }

    @Test func base64HeaderValuesAreDecoded() {
        #expect(HeaderValue.decoded("=?base64?w6ljaG8=?=") == "écho")
        #expect(HeaderValue.decoded("plain") == "plain")
        #expect(HeaderValue.decoded("=?base64?!!?=") == "=?base64?!!?=")
    }

    @Test func resultsAreCompleteUnlessTheySayOtherwise() {
        #expect(ModernMethods.complete(["tools": []])["resultType"] == "complete")
        #expect(ModernMethods.complete(["resultType": "task"])["resultType"] == "task")
        #expect(JSONRPCError.methodNotFound("ping").statelessHTTPStatus == 404)
        #expect(JSONRPCError.internalError("x").statelessHTTPStatus == 200)
    }

    @Test func aRequestIsStatelessByItsHeaderOrItsEnvelope() {
        #expect(RequestMeta.isStateless(versionHeader: "2026-07-28", params: nil))
        #expect(RequestMeta.isStateless(versionHeader: nil, params: ["_meta": Self.envelope]))
        #expect(!RequestMeta.isStateless(versionHeader: "2025-11-25", params: ["_meta": ["progressToken": 1]]))
    }
}
