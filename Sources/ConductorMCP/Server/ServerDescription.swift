import KubeJSON

/// What the server says about itself: its name and version, and the instructions `initialize` and
/// `server/discover` both carry.
struct ServerDescription: Sendable {
    let configuration: MCPConfiguration

    var serverInfo: JSON {
        ["name": "mcp-conductor", "title": "MCP Conductor", "version": .string(configuration.serverVersion)]
    }

    var instructions: String {
        "Each tool runs on an agent of a Kubernetes cluster as a Task. Long calls report progress when given a progress token; "
            + "without one, a call that takes longer than \(Int(configuration.maxCallWait.components.seconds)) s answers with the task's name, "
            + "and conductor_wait or conductor_get fetch its result. "
            + "Clients with MCP Tasks (2025-11-25, or the 2026-07-28 tasks extension) may make any capability tool's call a task instead: "
            + "it answers at once, and tasks/get and tasks/cancel follow it through any replica, for as long as its ttl after it ended."
    }

    /// The 2026-07-28 `server/discover` result: every revision served, the capabilities with the Tasks
    /// extension (tools/list_changed comes on `subscriptions/listen`), cacheable for five minutes by anyone (it is the same for every caller).
    var discoverResult: JSON {
        ["resultType": "complete",
         "supportedVersions": .array(ProtocolVersion.all.map(JSON.string)),
         "capabilities": ["tools": ["listChanged": true], "extensions": [RequestMeta.tasksExtension: [:]]],
         "instructions": .string(instructions),
         "ttlMs": 300_000,
         "cacheScope": "public",
         "_meta": ["io.modelcontextprotocol/serverInfo": serverInfo]]
    }
}
