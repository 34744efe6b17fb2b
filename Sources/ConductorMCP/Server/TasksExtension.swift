import ConductorAPI
import KubeJSON

/// The 2026-07-28 Tasks extension (`io.modelcontextprotocol/tasks`) on the same Task resources as the
/// 2025-11-25 methods: a call answers `resultType: "task"`; `tasks/get` carries the result once terminal;
/// `tasks/cancel` and `tasks/update` are acknowledged. Only for clients that declared the extension.
struct TasksExtension: Sendable {
    let server: MCPServer

    private var lookup: OwnTaskLookup { OwnTaskLookup(server: server) }

    /// The extension's status: a tool's error result is still a completed task here (the error is in its
    /// result), so a Task that failed is `completed` with an `isError` result.
    static func status(_ handle: TaskHandle) -> String {
        handle.status == .failed ? "completed" : handle.status.rawValue
    }

    /// The flat task object; `detailed` adds the result once terminal (`tasks/get`, `notifications/tasks`).
    /// `resultType` for a result (none in a notification).
    static func json(_ handle: TaskHandle, resultType: String?, detailed: Bool) -> JSON {
        var object: JSONObject = [
            "taskId": .string(handle.id),
            "status": .string(status(handle)),
            "statusMessage": .string(handle.statusMessage),
            "createdAt": .string(handle.createdAt.rfc3339),
            "lastUpdatedAt": .string(handle.lastUpdatedAt.rfc3339),
            "ttlMs": handle.lifetime.reportedTTL(of: handle.task, createdAt: handle.createdAt).map(JSON.int) ?? .null,
            "pollIntervalMs": .int(handle.pollInterval),
        ]
        if let resultType { object["resultType"] = .string(resultType) }
        if detailed {
            switch handle.status {
            case .working: break
            case .completed, .failed: object["result"] = ToolResult.finished(handle.task)
            case .cancelled: object["result"] = ToolResult.error("Task \(handle.id) was cancelled: \(handle.statusMessage).")
            }
        }
        return .object(object)
    }

    /// A capability tool's call as a task: created as the 2025-11-25 one is, with the default lifetime (the
    /// extension has no per-call ttl).
    func create(_ tool: ToolDefinition, _ call: ToolCall) async throws(JSONRPCError) -> JSON {
        let created = try await LegacyTaskMethods(server: server).createHandle(tool, call, task: [:])
        return Self.json(created, resultType: "task", detailed: false)
    }

    func get(_ params: JSON?, context: RequestContext) async throws(JSONRPCError) -> JSON {
        try await LegacyTaskMethods(server: server).authorize(context.caller, "get")
        return Self.json(try await lookup.handle(LegacyTaskMethods.taskID(params), caller: context.caller), resultType: "complete", detailed: true)
    }

    /// Cooperative: the task is asked to cancel unless it is terminal already, which is no error here.
    func cancel(_ params: JSON?, context: RequestContext) async throws(JSONRPCError) -> JSON {
        _ = try await LegacyTaskMethods(server: server).cancelHandle(LegacyTaskMethods.taskID(params), context: context, refusingTerminal: false)
        return ["resultType": "complete"]
    }

    /// The caller's tasks among `ids` that a `subscriptions/listen` may follow (others are left out of its
    /// acknowledgment, as unsupported types are); at most `limit`, each costing a listener.
    func followable(_ ids: [String], context: RequestContext, limit: Int) async throws(JSONRPCError) -> [TaskHandle] {
        try await LegacyTaskMethods(server: server).authorize(context.caller, "get")
        var handles: [TaskHandle] = []
        for id in ids.prefix(limit) {
            if let handle = try? await lookup.handle(id, caller: context.caller) { handles.append(handle) }
        }
        return handles
    }

    /// Input for a task waiting on the client: ours never wait on one, so there is nothing to deliver.
    func update(_ params: JSON?, context: RequestContext) async throws(JSONRPCError) -> JSON {
        try await LegacyTaskMethods(server: server).authorize(context.caller, "patch")
        _ = try await lookup.handle(LegacyTaskMethods.taskID(params), caller: context.caller)
        return ["resultType": "complete"]
    }
}
