import ConductorAPI
import KubeJSON

/// The 2025-11-25 Tasks methods on Task resources: a task-augmented `tools/call` creates a Task and
/// answers its handle at once; `tasks/get`, `tasks/result`, `tasks/list` and `tasks/cancel` read and cancel
/// it through any replica, since everything a handle is lives in the resource.
struct LegacyTaskMethods: Sendable {
    let server: MCPServer

    static let relatedTaskKey = "io.modelcontextprotocol/related-task"
    static let immediateResponseKey = "io.modelcontextprotocol/model-immediate-response"
    /// A `tasks/list` page.
    static let pageSize = 50
    /// How long a write waits for this replica's cache to hold it before answering, so that the caller's next
    /// request here reads it (read your writes); past it the answer goes anyway.
    static let cacheCatchUpLimit = Duration.seconds(5)

    private var lookup: OwnTaskLookup { OwnTaskLookup(server: server) }

    // MARK: tools/call with task

    /// Validates the call, creates its Task and answers `CreateTaskResult`. What a plain call answers as a
    /// tool error (bad arguments) is a JSON-RPC error here: a client waiting for a CreateTaskResult cannot
    /// read a CallToolResult in its place.
    func create(_ tool: ToolDefinition, _ call: ToolCall, task: JSON) async throws(JSONRPCError) -> JSON {
        let handle = try await createHandle(tool, call, task: task)
        return ["task": handle.legacyJSON,
                "_meta": [Self.immediateResponseKey: .string(
                    "Task \(handle.id) started (\(tool.name)); it runs on an agent of the cluster. Its result comes with tasks/result.")]]
    }

    /// The Task of a task-augmented call (either revision's), as a handle.
    func createHandle(_ tool: ToolDefinition, _ call: ToolCall, task: JSON) async throws(JSONRPCError) -> TaskHandle {
        let configuration = server.configuration
        let lifetime = try TaskLifetime.requested(task, fallback: configuration.taskTTL, maximum: configuration.taskMaxTTL)
        let payload = JSON.object(call.arguments)
        if let problem = ArgumentCheck.violation(of: payload, against: tool.inputSchema) {
            throw .invalidParams("invalid arguments for \(tool.name): \(problem)")
        }
        do throws(SizeLimitError) {
            try Limits.checkPayload(payload)
        } catch {
            throw .invalidParams("the arguments are too large: \(error)")
        }
        let options = try CallOptions.parse(call.meta, prefix: CallOptions.metaPrefix)
        try await authorize(call.context.caller, "create")
        // A retry with an idempotency key whose task exists attaches to it and creates nothing: never refused.
        var attaches = false
        if let key = options.idempotencyKey {
            attaches = await server.readTask(TaskSubmitter.name(caller: call.context.caller, idempotencyKey: key)) != nil
        }
        if !attaches, try lookup.handles(of: call.context.caller).count(where: { !$0.status.isTerminal }) >= configuration.maxTasksPerCaller {
            throw .tooManyTasks(configuration.maxTasksPerCaller)
        }
        let request = TaskRequest(
            capabilities: [tool.name], payload: payload, options: options, caller: call.context.caller, request: nil,
            annotations: [TaskSubmitter.taskTTLAnnotation: String(lifetime.afterEndMilliseconds),
                          TaskSubmitter.sessionAnnotation: call.context.session.nonce],
            ttlSecondsAfterFinished: lifetime.retentionSeconds(controllerDefault: configuration.finishedTaskTTLSeconds))
        let created: TaskResource
        do {
            created = try await server.submitter.submit(request).task
        } catch {
            throw .internalError("could not create the task: \(error)")
        }
        // An idempotency key may name a Task a plain call made: it has no handle, so it cannot be followed here.
        guard let handle = lookup.ownHandle(created, caller: call.context.caller) else {
            throw .invalidParams("the idempotency key names task \(created.name), which a call without task made: use another key, or conductor_wait")
        }
        // The caller's next call on this replica counts its working tasks from the cache: it must count this one.
        await lookup.awaitCache(of: created, limit: Self.cacheCatchUpLimit) { _ in true }
        return handle
    }

    // MARK: tasks/*

    func get(_ params: JSON?, context: RequestContext) async throws(JSONRPCError) -> JSON {
        try await authorize(context.caller, "get")
        return try await lookup.handle(Self.taskID(params), caller: context.caller).legacyJSON
    }

    /// Answers, once the task is terminal (the specification's MUST: it blocks until then), what the call would
    /// have, with the related-task `_meta`; as JSON-RPC messages with the request's `id`. Nil: the client
    /// cancelled this request or left (the task goes on). The wait is a callback: nothing parks meanwhile.
    func result(id: JSONRPCID, _ params: JSON?, context: RequestContext) async throws(JSONRPCError) -> Reply {
        try await authorize(context.caller, "get")
        let handle = try await lookup.handle(Self.taskID(params), caller: context.caller)
        if handle.status.isTerminal { return .now(JSONRPCMessage.result(id: id, Self.result(of: handle))) }
        let key = InFlightCalls.key(session: context.session.nonce, request: id)
        guard let wait = server.registeredWait(for: handle.task, request: key, context: context, limit: nil, progress: nil) else {
            throw .internalError(server.tooManyCalls(task: handle.task))
        }
        return wait.reply { outcome in
            switch outcome {
            case .final(let final):
                let handle = TaskHandle(task: final, lifetime: handle.lifetime, pollInterval: handle.pollInterval)
                return JSONRPCMessage.result(id: id, Self.result(of: handle))
            case .cancelled, .abandoned:
                return nil
            case .stopping, .timedOut:
                return JSONRPCMessage.error(id: id, .internalError(
                    "this replica of the front end is shutting down: ask tasks/result again (any replica answers)"))
            case .lost(let why):
                return JSONRPCMessage.error(id: id, .internalError("lost track of task \(handle.id): \(why)"))
            }
        }
    }

    /// What a terminal handle's call would have answered, with the related-task `_meta`.
    private static func result(of handle: TaskHandle) -> JSON {
        var result = handle.status == .cancelled
            ? ToolResult.error("Task \(handle.id) was cancelled: \(handle.statusMessage).")
            : ToolResult.finished(handle.task)
        result["_meta"] = [relatedTaskKey: ["taskId": .string(handle.id)]]
        return result
    }

    /// The caller's handles by id, a page at a time.
    func list(_ params: JSON?, context: RequestContext) async throws(JSONRPCError) -> JSON {
        try await authorize(context.caller, "list")
        var after = ""
        switch params?["cursor"] {
        case nil, .null?: break
        case .string(let cursor)?: after = try TaskListCursor.decode(cursor)
        case let other?: throw .invalidParams("cursor must be a string, not \(other.typeName)")
        }
        let remaining = try lookup.handles(of: context.caller).filter { $0.id > after }
        let page = remaining.prefix(Self.pageSize)
        var result: JSONObject = ["tasks": .array(page.map(\.legacyJSON))]
        if remaining.count > page.count, let last = page.last { result["nextCursor"] = .string(TaskListCursor.encode(after: last.id)) }
        return .object(result)
    }

    /// Asks the task to cancel and answers it `cancelled`; a terminal task is the specification's -32602.
    func cancel(_ params: JSON?, context: RequestContext) async throws(JSONRPCError) -> JSON {
        try await cancelHandle(Self.taskID(params), context: context, refusingTerminal: true).legacyJSON
    }

    /// Cancels the caller's task `id` unless it is terminal: then -32602 when `refusingTerminal` (2025-11-25),
    /// else the handle as it is (2026-07-28, where cancelling is cooperative).
    func cancelHandle(_ id: String, context: RequestContext, refusingTerminal: Bool) async throws(JSONRPCError) -> TaskHandle {
        try await authorize(context.caller, "patch")
        var handle = try await lookup.handle(id, caller: context.caller)
        for _ in 0..<3 {
            guard !handle.status.isTerminal else {
                if refusingTerminal { throw .taskAlreadyTerminal(handle.status.rawValue) }
                return handle
            }
            do {
                let cancelled = try await server.submitter.cancelHandle(handle.task, at: Timestamp(server.now()))
                // Read your writes on this replica: its next tasks/get must not find the task working in a stale cache.
                await lookup.awaitCache(of: cancelled, limit: Self.cacheCatchUpLimit) { version in
                    version.metadata.annotations?[TaskSubmitter.cancelRequestedAnnotation] != nil
                }
                return TaskHandle(task: cancelled, lifetime: handle.lifetime, pollInterval: handle.pollInterval)
            } catch where error.reason == .conflict {
                // Changed since it was read (possibly in a stale cache): read it from the API server and decide again.
                do {
                    handle = TaskHandle(task: try await server.submitter.get(handle.id), lifetime: handle.lifetime,
                                        pollInterval: handle.pollInterval)
                } catch {
                    throw error.reason == .notFound ? .taskNotFound : .internalError("\(error)")
                }
            } catch {
                throw error.reason == .notFound ? .taskNotFound : .internalError("\(error)")
            }
        }
        throw .internalError("task \(handle.id) kept changing while it was being cancelled: try again")
    }

    // MARK: Parts

    static func taskID(_ params: JSON?) throws(JSONRPCError) -> String {
        guard let id = params?["taskId"]?.string else { throw .invalidParams("taskId must be a string") }
        return id
    }

    func authorize(_ caller: Caller, _ verb: String) async throws(JSONRPCError) {
        do {
            try await server.authority.authorize(caller, verb: verb, resource: "tasks", namespace: server.configuration.taskNamespace)
        } catch {
            throw .notAllowed(error.message)
        }
    }
}
