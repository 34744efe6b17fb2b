import ConductorAPI
import KubeClient
import KubeJSON

/// The management tools, for clients without MCP Tasks: submit work and come back for it. Prefixed
/// `conductor_` (`ToolDefinition.reservedPrefix`) so that no capability's tool collides with them.
struct ManagementTools {
    let server: MCPServer

    private static let optionProperties: JSONObject = [
        "priority": ["type": "integer", "minimum": 1, "maximum": 10, "description": "1 to 10, higher is more urgent (default 5)."],
        "deadline": ["type": "string", "description": "RFC 3339 time after which the task fails DeadlineExceeded."],
        "timeoutSeconds": ["type": "number", "description": "A deadline this many seconds from now."],
        "idempotencyKey": ["type": "string", "description": "Submitting again with the same key returns the same task instead of running the work twice."],
        "affinity": ["type": "object", "description": "Agent tags: required, preferred and avoided lists.",
                     "properties": ["required": ["type": "array", "items": ["type": "string"]],
                                    "preferred": ["type": "array", "items": ["type": "string"]],
                                    "avoided": ["type": "array", "items": ["type": "string"]]]],
        "retryPolicy": ["type": "object", "properties": ["maxRetries": ["type": "integer", "minimum": 0],
                                                         "backoffStrategy": ["type": "string", "enum": ["linear", "exponential"]]]],
    ]

    private static let submitProperties: JSONObject = {
        var properties: JSONObject = [
            "capabilities": ["type": "array", "items": ["type": "string"], "minItems": 1],
            "payload": ["type": "object"],
        ]
        for (key, value) in optionProperties { properties[key] = value }
        return properties
    }()

    static let definitions: [ToolDefinition] = [
        ToolDefinition(
            name: "conductor_submit", title: "Submit a task",
            description: "Creates a task for agents offering every one of `capabilities`, with `payload` as its input, and returns its name at once. Follow it with conductor_wait or conductor_get.",
            inputSchema: ["type": "object", "required": ["capabilities"], "properties": .object(submitProperties),
                          "additionalProperties": false], taskSupport: .forbidden),
        ToolDefinition(
            name: "conductor_get", title: "Get a task",
            description: "A task's phase, attempt, agent, progress, and result or error.",
            inputSchema: ["type": "object", "required": ["name"], "properties": ["name": ["type": "string"]], "additionalProperties": false], taskSupport: .forbidden),
        ToolDefinition(
            name: "conductor_wait", title: "Wait for a task",
            description: "Waits until the task finishes or `timeoutSeconds` pass (at most the front end's call limit), with progress notifications when given a progress token; then answers as conductor_get, with `done`.",
            inputSchema: ["type": "object", "required": ["name"],
                          "properties": ["name": ["type": "string"], "timeoutSeconds": ["type": "number", "minimum": 0]],
                          "additionalProperties": false], taskSupport: .forbidden),
        ToolDefinition(
            name: "conductor_cancel", title: "Cancel a task",
            description: "Requests the task's cancellation: it ends Failed with reason Cancelled and its agent stops the work.",
            inputSchema: ["type": "object", "required": ["name"], "properties": ["name": ["type": "string"]], "additionalProperties": false], taskSupport: .forbidden),
        ToolDefinition(
            name: "conductor_list_tasks", title: "List tasks",
            description: "The front end's tasks by name, optionally of one phase and one capability; `limit` per page (default 50, at most 500) and `cursor` from the previous page's nextCursor.",
            inputSchema: ["type": "object",
                          "properties": ["phase": ["type": "string", "enum": .array(TaskPhase.allCases.map { .string($0.rawValue) })],
                                         "capability": ["type": "string"],
                                         "limit": ["type": "integer", "minimum": 1, "maximum": 500],
                                         "cursor": ["type": "string"]],
                          "additionalProperties": false], taskSupport: .forbidden),
        ToolDefinition(
            name: "conductor_list_agents", title: "List agents",
            description: "The agents: phase, capabilities, tasks running and the most they take.",
            inputSchema: ["type": "object", "additionalProperties": false], taskSupport: .forbidden),
    ]

    func call(_ name: String, _ call: ToolCall) async throws -> Reply {
        let definition = Self.definitions.first { $0.name == name }!
        let arguments = JSON.object(call.arguments)
        if let problem = ArgumentCheck.violation(of: arguments, against: definition.inputSchema) {
            return .now(ToolResult.error("Invalid arguments for \(name): \(problem)."))
        }
        let namespace = server.configuration.taskNamespace
        let verb = switch name {
        case "conductor_submit": "create"
        case "conductor_cancel": "patch"
        case "conductor_list_tasks", "conductor_list_agents": "list"
        default: "get"
        }
        do {
            try await server.authority.authorize(call.context.caller, verb: verb, resource: name == "conductor_list_agents" ? "agents" : "tasks",
                                                 namespace: namespace)
        } catch {
            return .now(ToolResult.error("Not allowed: \(error.message)"))
        }
        switch name {
        case "conductor_submit": return .now(try await submit(call))
        case "conductor_get": return .now(await get(call))
        case "conductor_wait": return await wait(call)
        case "conductor_cancel": return .now(await cancel(call))
        case "conductor_list_tasks": return .now(listTasks(call))
        default: return .now(listAgents())
        }
    }

    private func submit(_ call: ToolCall) async throws -> JSON {
        let capabilities = call.arguments["capabilities"]?.array?.compactMap(\.string) ?? []
        let payload = call.arguments["payload"] ?? [:]
        do throws(SizeLimitError) {
            try Limits.checkPayload(payload)
        } catch {
            return ToolResult.error("The payload is too large: \(error).")
        }
        let options: CallOptions
        do {
            options = try CallOptions.parse(call.arguments, prefix: "")
        } catch {
            return ToolResult.error(error.message)
        }
        do {
            let (task, reused) = try await server.submitter.submit(TaskRequest(
                capabilities: capabilities, payload: payload, options: options, caller: call.context.caller, request: nil))
            var summary = TaskSummary.json(task)
            summary["reused"] = .bool(reused)
            return ToolResult.success(summary)
        } catch {
            return ToolResult.error("Could not create the task: \(error).")
        }
    }

    /// From the cache when this replica has it, else from the API server (created moments ago elsewhere).
    private func read(_ name: String) async -> Result<TaskResource, TaskOperationError> {
        if let cached = server.tasks.get("\(server.configuration.taskNamespace)/\(name)") { return .success(cached) }
        do {
            return .success(try await server.submitter.get(name))
        } catch {
            return .failure(error)
        }
    }

    private func get(_ call: ToolCall) async -> JSON {
        switch await read(call.arguments["name"]?.string ?? "") {
        case .success(let task): return ToolResult.success(TaskSummary.json(task))
        case .failure(let error): return ToolResult.error(describe(error))
        }
    }

    private func wait(_ call: ToolCall) async -> Reply {
        let task: TaskResource
        switch await read(call.arguments["name"]?.string ?? "") {
        case .success(let found): task = found
        case .failure(let error): return .now(ToolResult.error(describe(error)))
        }
        if task.status.isFinal { return .now(Self.answer(.final(task), waitedFor: task)) }
        let most = server.configuration.maxCallWait
        var limit = most
        if let seconds = call.arguments["timeoutSeconds"]?.double { limit = min(most, .milliseconds(Int64(seconds * 1000))) }
        let request = InFlightCalls.key(session: call.context.session.nonce, request: call.id)
        guard let wait = server.registeredWait(for: task, request: request, context: call.context, limit: limit,
                                               progress: call.progress)
        else {
            return .now(ToolResult.error(server.tooManyCalls(task: task)))
        }
        return wait.reply { outcome in Self.answer(outcome, waitedFor: task) }
    }

    /// conductor_wait's answer: the task as the wait left it.
    private static func answer(_ outcome: WaitOutcome, waitedFor task: TaskResource) -> JSON? {
        let latest: TaskResource
        switch outcome {
        case .final(let found), .timedOut(let found), .stopping(let found): latest = found
        case .cancelled, .abandoned: return nil  // the wait was cancelled or left, not the task
        case .lost(let why): return ToolResult.error("Lost track of task \(task.name): \(why).")
        }
        var summary = TaskSummary.json(latest)
        summary["done"] = .bool(latest.status.isFinal)
        return ToolResult.success(summary)
    }

    private func cancel(_ call: ToolCall) async -> JSON {
        do {
            let task = try await server.submitter.cancel(call.arguments["name"]?.string ?? "")
            return ToolResult.success(TaskSummary.json(task))
        } catch {
            return ToolResult.error(describe(error))
        }
    }

    private func listTasks(_ call: ToolCall) -> JSON {
        let namespace = server.configuration.taskNamespace
        let phase = call.arguments["phase"]?.string.flatMap(TaskPhase.init(rawValue:))
        let capability = call.arguments["capability"]?.string
        let limit = Int(call.arguments["limit"]?.int ?? 50)
        let after = call.arguments["cursor"]?.string ?? ""
        // The cache lists by key (namespace/name), so a page starts after the cursor's name.
        let matching = server.tasks.list().lazy.filter { task in
            task.namespace == namespace && task.name > after
                && (phase == nil || task.status.effectivePhase == phase)
                && (capability == nil || task.spec.requiredCapabilities.contains(capability!))
        }
        let page = Array(matching.prefix(limit + 1))
        var result: JSONObject = ["tasks": .array(page.prefix(limit).map(TaskSummary.json))]
        if page.count > limit, let last = page.prefix(limit).last { result["nextCursor"] = .string(last.name) }
        return ToolResult.success(.object(result))
    }

    private func listAgents() -> JSON {
        let agents = server.agents.list().map { agent -> JSON in
            var object: JSONObject = [
                "name": .string(agent.name),
                "phase": .string((agent.status.phase ?? .unknown).rawValue),
                "capabilities": .array(agent.spec.capabilities.map(JSON.string)),
                "currentTasks": .int(Int64(agent.status.currentTasks ?? 0)),
                "maxConcurrentTasks": .int(Int64(agent.spec.effectiveMaxConcurrentTasks)),
            ]
            if agent.spec.isDraining { object["draining"] = true }
            if !agent.spec.tags.isEmpty { object["tags"] = .array(agent.spec.tags.map(JSON.string)) }
            return .object(object)
        }
        return ToolResult.success(["agents": .array(agents)])
    }

    private func describe(_ error: TaskOperationError) -> String {
        if error.reason == .notFound { return "No task \(error.task) in namespace \(server.configuration.taskNamespace)." }
        return "\(error)."
    }
}
