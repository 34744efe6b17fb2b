import ConductorAPI
import KubeClient
import KubeJSON
import Logging
import Testing

@testable import ConductorMCP

struct ArgumentCheckTests {
    let schema: JSON = [
        "type": "object", "required": ["city"],
        "properties": [
            "city": ["type": "string", "minLength": 1],
            "days": ["type": "integer", "minimum": 1, "maximum": 7],
            "units": ["enum": ["metric", "imperial"]],
            "where": ["type": "object", "properties": ["lat": ["type": "number"]], "additionalProperties": false],
            "tags": ["type": "array", "items": ["type": "string"]],
        ],
    ]

    @Test func validArgumentsPass() {
        #expect(ArgumentCheck.violation(of: ["city": "Oslo", "days": 3, "where": ["lat": 59.9], "tags": ["a"]], against: schema) == nil)
        #expect(ArgumentCheck.violation(of: ["city": "Oslo", "days": 3.0], against: schema) == nil)
    }

    static let cases: [(JSON, String)] = [
        (["days": 1], "`city` is required"),
        (["city": 5], "`city`: expected string, got integer"),
        (["city": ""], "`city`: must be at least 1 characters"),
        (["city": "x", "days": 9], "`days`: must be at most 7"),
        (["city": "x", "days": 1.5], "`days`: expected integer, got number"),
        (["city": "x", "units": "kelvin"], "`units`: must be one of [\"metric\",\"imperial\"], got \"kelvin\""),
        (["city": "x", "where": ["lon": 1]], "`where.lon` is not an accepted argument (accepted: lat)"),
        (["city": "x", "tags": ["a", 2]], "`tags[1]`: expected string, got integer"),
        ("text", "the arguments: expected object, got string"),
    ]

    @Test(arguments: cases)
    func violationsNameTheFieldAndWhy(_ arguments: JSON, _ expected: String) {
        #expect(ArgumentCheck.violation(of: arguments, against: schema) == expected)
    }
}

struct CallOptionsTests {
    @Test func metaKeysBecomeTaskOptions() throws {
        let options = try CallOptions.parse(
            ["mcp.io/priority": 8, "mcp.io/deadline": "2030-01-02T03:04:05Z", "mcp.io/idempotencyKey": "k1",
             "mcp.io/affinity": ["required": ["gpu"]], "mcp.io/retryPolicy": ["maxRetries": 0, "backoffStrategy": "linear"],
             "progressToken": 3],
            prefix: CallOptions.metaPrefix)
        #expect(options.priority == 8)
        #expect(options.deadline?.rfc3339 == "2030-01-02T03:04:05Z")
        #expect(options.idempotencyKey == "k1")
        #expect(options.affinity == TaskAffinity(required: ["gpu"]))
        #expect(options.retryPolicy == RetryPolicy(maxRetries: 0, backoffStrategy: .linear))
    }

    static let badMeta: [JSON] = [
        ["mcp.io/priority": 11], ["mcp.io/deadline": "tomorrow"], ["mcp.io/idempotencyKey": ""],
        ["mcp.io/retryPolicy": ["backoffStrategy": "random"]], ["mcp.io/affinity": ["required": [1]]], ["mcp.io/timeoutSeconds": -1],
    ]

    @Test(arguments: badMeta)
    func badOptionsAreInvalidParamsNamingTheKey(_ meta: JSON) {
        #expect { try CallOptions.parse(meta.object!, prefix: CallOptions.metaPrefix) } throws: { error in
            guard let error = error as? JSONRPCError else { return false }
            return error.code == -32602 && meta.object!.keys.contains { error.message.contains($0) }
        }
    }

    @Test func anIdempotencyKeyNamesOneTaskPerCaller() {
        let alice = Caller(username: "alice"), bob = Caller(username: "bob")
        let name = TaskSubmitter.name(caller: alice, idempotencyKey: "k")
        #expect(name == TaskSubmitter.name(caller: alice, idempotencyKey: "k"))
        #expect(name != TaskSubmitter.name(caller: bob, idempotencyKey: "k"))
        #expect(name != TaskSubmitter.name(caller: alice, idempotencyKey: "k2"))
        #expect(name.count == 36 && name.hasPrefix("mcp-"))
    }
}

struct ToolCatalogTests {
    private func agent(_ name: String, phase: AgentPhase, capabilities: [String], details: [CapabilityDetail] = [],
                       draining: Bool = false) -> Agent {
        Agent(metadata: ObjectMeta(name: name, namespace: "mcp-system"),
              spec: AgentSpec(capabilities: capabilities, capabilityDetails: details, draining: draining),
              status: AgentStatus(phase: phase))
    }

    @Test func onlyReadyUndrainedAgentsOfferToolsWithValidUnreservedNames() {
        let tools = ToolCatalog.tools(offeredBy: [
            agent("a", phase: .ready, capabilities: ["echo", "bad name", "conductor_get"],
                  details: [CapabilityDetail(name: "echo", description: "Echo.", inputSchema: ["type": "object", "required": ["t"]],
                                             outputSchema: ["type": "array"])]),
            agent("b", phase: .notReady, capabilities: ["gone"]),
            agent("c", phase: .ready, capabilities: ["drained"], draining: true),
            agent("d", phase: .ready, capabilities: ["plain"]),
        ], logger: Logger(label: "test"))
        #expect(Set(tools.keys) == ["echo", "plain"])
        #expect(tools["echo"]?.description == "Echo.")
        #expect(tools["echo"]?.inputSchema == ["type": "object", "required": ["t"]])
        #expect(tools["echo"]?.outputSchema == nil)  // not an object schema: clients would reject every result
        #expect(tools["plain"]?.inputSchema == ["type": "object"])
    }

    @Test func subscribersHearOnlyRealChanges() async {
        let catalog = ToolCatalog(logger: Logger(label: "test"))
        let changes = catalog.changes()
        catalog.update(from: [agent("a", phase: .ready, capabilities: ["x"])])
        catalog.update(from: [agent("a", phase: .ready, capabilities: ["x"])])
        catalog.finish()
        var count = 0
        for await _ in changes { count += 1 }
        #expect(count == 1)
    }
}

struct OriginPolicyTests {
    @Test func loopbackOriginsPassOnlyWhenBoundToLoopback() {
        let local = OriginPolicy(loopbackBound: true, allowed: [])
        #expect(local.allows(origin: nil, host: "127.0.0.1:8080"))
        #expect(local.allows(origin: "http://localhost:3000", host: "127.0.0.1:8080"))
        #expect(local.allows(origin: "http://[::1]:3000", host: nil))
        #expect(!local.allows(origin: "http://evil.example", host: "127.0.0.1:8080"))
        #expect(!local.allows(origin: "null", host: "127.0.0.1:8080"))
        let cluster = OriginPolicy(loopbackBound: false, allowed: ["https://app.example.com/"])
        #expect(!cluster.allows(origin: "http://localhost:3000", host: "mcp.example.com"))
        #expect(cluster.allows(origin: "https://app.example.com", host: "mcp.example.com"))
        #expect(cluster.allows(origin: "https://mcp.example.com", host: "mcp.example.com"))
    }
}
