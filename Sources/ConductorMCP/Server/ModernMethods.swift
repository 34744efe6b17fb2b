import KubeJSON

/// The 2026-07-28 methods: no session and no initialize, the envelope in each request's `_meta`
/// (`RequestMeta`), `resultType` on every result. The handshake revisions' `ping`, `logging/setLevel`,
/// `tasks/result` and `tasks/list` are gone from it, so they are "Method not found" here.
struct ModernMethods: Sendable {
    let server: MCPServer

    /// Answers a request, in two steps when it waits for a task (`Reply`); a nil answer: cancelled, none is due.
    func reply(to id: JSONRPCID, method: String, params: JSON?, meta: RequestMeta, context: RequestContext) async -> Reply {
        do {
            let result: JSON?
            switch method {
            case "server/discover":
                result = ServerDescription(configuration: server.configuration).discoverResult
            case "tools/list":
                let tools = (ManagementTools.definitions + server.catalog.tools).map { tool in
                    var published = tool
                    published.inputSchema = HeaderAnnotations.stripped(tool.inputSchema)
                    return published.json(showingExecution: false)
                }
                // ttlMs 0: the tools follow the agents, so a client should not cache the list.
                result = ["tools": .array(tools), "ttlMs": 0, "cacheScope": "public"]
            case "tools/call":
                return try await server.callTool(id: id, params: params, context: context, stateless: meta)
                    .map { JSONRPCMessage.result(id: id, Self.complete($0)) }
            case "tasks/get", "tasks/cancel", "tasks/update":
                guard meta.declaresTasks else {
                    throw JSONRPCError.missingClientCapability(
                        ["extensions": [RequestMeta.tasksExtension: [:]]],
                        detail: "\(method) belongs to the tasks extension, which the request's clientCapabilities do not declare")
                }
                let tasks = TasksExtension(server: server)
                result = switch method {
                case "tasks/get": try await tasks.get(params, context: context)
                case "tasks/cancel": try await tasks.cancel(params, context: context)
                default: try await tasks.update(params, context: context)
                }
            default:
                throw JSONRPCError.methodNotFound(method)
            }
            return .now(result.map { JSONRPCMessage.result(id: id, Self.complete($0)) })
        } catch let error as JSONRPCError {
            return .now(JSONRPCMessage.error(id: id, error))
        } catch {
            server.logger.error("request failed", metadata: ["method": "\(method)", "error": "\(error)"])
            return .now(JSONRPCMessage.error(id: id, .internalError("\(error)")))
        }
    }

    /// Whether a tools/call will be answered at once with JSON (a task, a management tool) rather than wait
    /// on an SSE stream that carries its progress and whose closing cancels it.
    static func answersAtOnce(params: JSON?, meta: RequestMeta) -> Bool {
        guard let name = params?["name"]?.string else { return true }
        return name.hasPrefix(ToolDefinition.reservedPrefix) || meta.declaresTasks
    }

    /// `resultType: "complete"` unless the result says otherwise (a task).
    static func complete(_ result: JSON) -> JSON {
        guard var object = result.object, object["resultType"] == nil else { return result }
        object["resultType"] = "complete"
        return .object(object)
    }
}
