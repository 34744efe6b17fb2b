import ConductorAPI
import ConductorController
import Foundation
import KubeClient
import KubeJSON
import Logging

/// The MCP server, independent of its transport: answers one JSON-RPC message at a time for a session, and
/// sends a request's notifications to the request's own sink. Streamable HTTP and stdio both drive it.
final class MCPServer: Sendable {
    let configuration: MCPConfiguration
    let catalog: ToolCatalog
    let submitter: TaskSubmitter
    let waiter: TaskWaiter
    let inFlight: InFlightCalls
    let authority: any CallerAuthority
    let tasks: Informer<TaskResource>
    let agents: Informer<Agent>
    let logger: Logger
    /// The time task handles expire by; injected so that tests can move it.
    let now: @Sendable () -> Date

    init(configuration: MCPConfiguration, catalog: ToolCatalog, submitter: TaskSubmitter, waiter: TaskWaiter,
         authority: any CallerAuthority, tasks: Informer<TaskResource>, agents: Informer<Agent>, logger: Logger,
         now: @escaping @Sendable () -> Date = Date.init) {
        self.configuration = configuration
        self.catalog = catalog
        self.submitter = submitter
        self.waiter = waiter
        inFlight = InFlightCalls(limitPerCaller: configuration.maxCallsPerCaller)
        self.authority = authority
        self.tasks = tasks
        self.agents = agents
        self.logger = logger
        self.now = now
        // tasks/list reads the caller's tasks through it. The one error is a duplicate: a second server on the
        // same informer finds the index there already.
        try? tasks.addIndex(OwnTaskLookup.byCaller)
    }

    // MARK: Lifecycle

    /// The `initialize` result and the negotiated revision. (The transport issues the session.)
    func initialize(_ params: JSON?) throws(JSONRPCError) -> (result: JSON, version: String) {
        guard let params = params?.object else { throw .invalidParams("initialize needs params with protocolVersion") }
        guard let requested = params["protocolVersion"]?.string else { throw .invalidParams("protocolVersion must be a string") }
        let version = ProtocolVersion.negotiate(requested)
        var capabilities: JSONObject = ["tools": ["listChanged": true], "logging": [:]]
        if ProtocolVersion.hasTasks(version) {
            var tasks: JSONObject = ["cancel": [:], "requests": ["tools": ["call": [:]]]]
            // Without authentication every caller is the same anonymous one: the specification then asks not to
            // offer tasks/list (it would list everyone's tasks), though the method still answers.
            if !(authority is NoAuthentication) { tasks["list"] = [:] }
            capabilities["tasks"] = .object(tasks)
        }
        let result: JSON = [
            "protocolVersion": .string(version),
            "capabilities": .object(capabilities),
            "serverInfo": ServerDescription(configuration: configuration).serverInfo,
            "instructions": .string(ServerDescription(configuration: configuration).instructions),
        ]
        return (result, version)
    }

    // MARK: Messages

    /// Answers a request (nil: cancelled, no answer is due).
    func handle(request id: JSONRPCID, method: String, params: JSON?, context: RequestContext) async -> JSON? {
        await reply(to: id, method: method, params: params, context: context).value()
    }

    /// Answers a request, in two steps when it waits for a task (`Reply`).
    func reply(to id: JSONRPCID, method: String, params: JSON?, context: RequestContext) async -> Reply {
        do {
            switch method {
            case "ping":
                return .now(JSONRPCMessage.result(id: id, [:]))
            case "initialize":
                // A second initialize within a session: answered, the session stays as it was negotiated.
                return .now(JSONRPCMessage.result(id: id, try initialize(params).result))
            case "logging/setLevel":
                try setLevel(params)
                return .now(JSONRPCMessage.result(id: id, [:]))
            case "tools/list":
                let tools = ManagementTools.definitions + catalog.tools
                let showingExecution = ProtocolVersion.hasTasks(context.session.protocolVersion)
                return .now(JSONRPCMessage.result(id: id, ["tools": .array(tools.map { $0.json(showingExecution: showingExecution) })]))
            case "tools/call":
                return try await callTool(id: id, params: params, context: context).map { JSONRPCMessage.result(id: id, $0) }
            case "tasks/get", "tasks/result", "tasks/list", "tasks/cancel":
                guard ProtocolVersion.hasTasks(context.session.protocolVersion) else { throw JSONRPCError.methodNotFound(method) }
                let methods = LegacyTaskMethods(server: self)
                if method == "tasks/result" { return try await methods.result(id: id, params, context: context) }
                let result: JSON = switch method {
                case "tasks/get": try await methods.get(params, context: context)
                case "tasks/list": try await methods.list(params, context: context)
                default: try await methods.cancel(params, context: context)
                }
                return .now(JSONRPCMessage.result(id: id, result))
            default:
                throw JSONRPCError.methodNotFound(method)
            }
        } catch let error as JSONRPCError {
            return .now(JSONRPCMessage.error(id: id, error))
        } catch {
            logger.error("request failed", metadata: ["method": "\(method)", "error": "\(error)"])
            return .now(JSONRPCMessage.error(id: id, .internalError("\(error)")))
        }
    }

    /// Acts on a notification; unknown ones are ignored, as JSON-RPC asks.
    func handle(notification method: String, params: JSON?, context: RequestContext) async {
        guard method == "notifications/cancelled", let raw = params?["requestId"], let requestID = JSONRPCID(raw) else { return }
        let key = InFlightCalls.key(session: context.session.nonce, request: requestID)
        if inFlight.cancel(key) { return }
        // The call waits on another replica (or finished): its task carries the request in an annotation.
        let task = tasks.list().first { task in
            task.namespace == configuration.taskNamespace && task.metadata.annotations?[TaskSubmitter.requestAnnotation] == key
        }
        guard let task, !task.status.isFinal else { return }
        do {
            _ = try await submitter.cancel(task.name)
            logger.info("call cancelled by the client; cancel requested on its task", metadata: ["task": "\(task.key)"])
        } catch {
            logger.warning("could not cancel the task of a cancelled call", metadata: ["task": "\(task.key)", "error": "\(error)"])
        }
    }

    private static let levels: Set<String> = ["debug", "info", "notice", "warning", "error", "critical", "alert", "emergency"]

    private func setLevel(_ params: JSON?) throws(JSONRPCError) {
        guard let level = params?["level"]?.string, Self.levels.contains(level) else {
            throw .invalidParams("level must be one of \(Self.levels.sorted().joined(separator: ", "))")
        }
        // Accepted; this server sends no log notifications yet, so there is nothing to filter.
    }

    /// Whether a tools/call will send notifications, so that the transport answers with SSE.
    /// tasks/result too: it may wait long, and an SSE stream carries keep-alives while it does.
    static func streamsNotifications(method: String, params: JSON?) -> Bool {
        (method == "tools/call" && params?[path: ["_meta", "progressToken"]] != nil && params?["task"] == nil) || method == "tasks/result"
    }

    // MARK: tools/call

    /// `stateless`: the envelope of a 2026-07-28 call, whose capability tool calls become tasks when it declares
    /// the tasks extension.
    func callTool(id: JSONRPCID, params: JSON?, context: RequestContext, stateless: RequestMeta? = nil) async throws -> Reply {
        guard let params = params?.object else { throw JSONRPCError.invalidParams("tools/call needs params with name") }
        guard let name = params["name"]?.string else { throw JSONRPCError.invalidParams("name must be a string") }
        let arguments: JSONObject
        switch params["arguments"] {
        case nil, .null?: arguments = [:]
        case .object(let object)?: arguments = object
        case let other?: throw JSONRPCError.invalidParams("arguments must be an object, not \(other.typeName)")
        }
        let meta = params["_meta"]?.object ?? [:]
        var progress: ProgressTarget?
        if let token = meta["progressToken"], let sink = context.sink {
            guard token.string != nil || token.int != nil else { throw JSONRPCError.invalidParams("_meta.progressToken must be a string or an integer") }
            progress = ProgressTarget(token: token, sink: sink)
        }
        let call = ToolCall(id: id, arguments: arguments, meta: meta, progress: progress, context: context)
        // Older revisions know no tasks: their `task` is ignored, as the specification asks.
        let task = ProtocolVersion.hasTasks(context.session.protocolVersion) ? params["task"].flatMap { $0.isNull ? nil : $0 } : nil
        if name.hasPrefix(ToolDefinition.reservedPrefix) {
            guard let definition = ManagementTools.definitions.first(where: { $0.name == name }) else {
                throw JSONRPCError.invalidParams("unknown tool \(name)")
            }
            if task != nil, definition.taskSupport == .forbidden { throw JSONRPCError.taskNotSupported(name) }
            return try await ManagementTools(server: self).call(name, call)
        }
        guard let tool = catalog.tool(named: name) else {
            throw JSONRPCError.invalidParams("unknown tool \(name): no Ready agent offers that capability now (tools/list shows what is offered)")
        }
        if let task { return .now(try await LegacyTaskMethods(server: self).create(tool, call, task: task)) }
        if stateless?.declaresTasks == true { return .now(try await TasksExtension(server: self).create(tool, call)) }
        return try await callCapability(tool, call)
    }

    /// A capability tool: validate, create the task, await it.
    private func callCapability(_ tool: ToolDefinition, _ call: ToolCall) async throws -> Reply {
        let payload = JSON.object(call.arguments)
        if let problem = ArgumentCheck.violation(of: payload, against: tool.inputSchema) {
            return .now(ToolResult.error("Invalid arguments for \(tool.name): \(problem)."))
        }
        do throws(SizeLimitError) {
            try Limits.checkPayload(payload)
        } catch {
            return .now(ToolResult.error("The arguments are too large: \(error)."))
        }
        let options = try CallOptions.parse(call.meta, prefix: CallOptions.metaPrefix)
        do {
            try await authority.authorize(call.context.caller, verb: "create", resource: "tasks", namespace: configuration.taskNamespace)
        } catch {
            return .now(ToolResult.error("Not allowed: \(error.message)"))
        }
        let request = InFlightCalls.key(session: call.context.session.nonce, request: call.id)
        let created: TaskResource
        do {
            created = try await submitter.submit(TaskRequest(capabilities: [tool.name], payload: payload, options: options,
                                                             caller: call.context.caller, request: request)).task
        } catch {
            return .now(ToolResult.error("Could not create the task: \(error)."))
        }
        guard let wait = registeredWait(for: created, request: request, context: call.context,
                                        limit: call.progress == nil ? configuration.maxCallWait : nil, progress: call.progress)
        else {
            return .now(ToolResult.error(tooManyCalls(task: created)))
        }
        let hasOutputSchema = tool.outputSchema != nil
        return wait.reply { [self] outcome in
            await answer(outcome, task: created, hasOutputSchema: hasOutputSchema, waitedFor: callWaitedTheMost)
        }
    }

    /// A wait for `task` on behalf of the call `request`, counted among its caller's waiting calls (and cancellable
    /// by `request`, ended when `context`'s reader leaves) from now until it ends. Nil: the caller has
    /// `--mcp-max-calls-per-caller` waiting already. The wait must be run, or the call stays counted.
    func registeredWait(for task: TaskResource, request: String, context: RequestContext, limit: Duration?,
                        progress: ProgressTarget?) -> RegisteredWait? {
        guard let cancellation = inFlight.register(request, caller: context.caller.username) else { return nil }
        return RegisteredWait(task: task, request: request, limit: limit, progress: progress, cancellation: cancellation,
                              readerLeft: context.readerLeft, calls: inFlight, waiter: waiter)
    }

    /// Why a call without a progress token was answered before its task ended.
    private var callWaitedTheMost: String {
        "The call waited \(Int(configuration.maxCallWait.components.seconds)) s, the most a call without a progress token waits (--mcp-max-call-wait)."
    }

    /// Resumes a tools/call whose SSE stream broke (GET with Last-Event-ID, on any replica): waits for its
    /// task again and answers with the call's own id (none if the call is cancelled or its client leaves again).
    func resume(_ token: ResumeToken, task: TaskResource, context: RequestContext) -> Reply {
        let tool = task.spec.requiredCapabilities.first.flatMap(catalog.tool(named:))
        let progress = token.progressToken.flatMap { progressToken in context.sink.map { ProgressTarget(token: progressToken, sink: $0) } }
        let key = InFlightCalls.key(session: context.session.nonce, request: token.request)
        guard let wait = registeredWait(for: task, request: key, context: context,
                                        limit: progress == nil ? configuration.maxCallWait : nil, progress: progress)
        else {
            return .now(JSONRPCMessage.result(id: token.request, ToolResult.error(tooManyCalls(task: task))))
        }
        let hasOutputSchema = tool?.outputSchema != nil
        return wait.reply { [self] outcome in
            await answer(outcome, task: task, hasOutputSchema: hasOutputSchema, waitedFor: callWaitedTheMost)
                .map { JSONRPCMessage.result(id: token.request, $0) }
        }
    }

    /// The task `name` of the task namespace: from the cache, else from the API server.
    func readTask(_ name: String) async -> TaskResource? {
        if let cached = tasks.get("\(configuration.taskNamespace)/\(name)") { return cached }
        return try? await submitter.get(name)
    }

    /// The stream id of a request's SSE answer: a capability tool call's carries its `ResumeToken`, others are
    /// random (their streams cannot be resumed).
    func streamID(for id: JSONRPCID, method: String, params: JSON?, session: SessionClaims, caller: Caller) -> String {
        let salt = Base64URL.encode([UInt8].random(count: 4))
        guard method == "tools/call", let name = params?["name"]?.string, !name.hasPrefix(ToolDefinition.reservedPrefix),
              catalog.tool(named: name) != nil else {
            return "r" + salt
        }
        let request = InFlightCalls.key(session: session.nonce, request: id)
        let key = params?[path: ["_meta", CallOptions.metaPrefix + "idempotencyKey"]]?.string
        let task = key.map { TaskSubmitter.name(caller: caller, idempotencyKey: $0) } ?? TaskSubmitter.callName(request)
        return ResumeToken(task: task, request: id, progressToken: params?[path: ["_meta", "progressToken"]], salt: salt).streamID
    }

    /// Refuses to wait when the caller has `maxCallsPerCaller` calls waiting: the task was created and goes on.
    func tooManyCalls(task: TaskResource) -> String {
        "Too many calls waiting for this caller on this replica (at most \(configuration.maxCallsPerCaller), --mcp-max-calls-per-caller). "
            + "Task \(task.name) was created and goes on: fetch its result later with conductor_wait or conductor_get."
    }

    /// Turns a wait's outcome into the call's result; nil for a cancelled call (cancelling its task first) and for one
    /// whose client left.
    func answer(_ outcome: WaitOutcome, task: TaskResource, hasOutputSchema: Bool, waitedFor: String) async -> JSON? {
        switch outcome {
        case .final(let final):
            return ToolResult.finished(final)
        case .timedOut(let seen):
            return ToolResult.stillRunning(seen, why: waitedFor, toolHasOutputSchema: hasOutputSchema)
        case .stopping(let seen):
            return ToolResult.stillRunning(seen, why: "This replica of the front end is shutting down.", toolHasOutputSchema: hasOutputSchema)
        case .lost(let why):
            return ToolResult.error("Lost track of task \(task.key): \(why).")
        case .abandoned:
            return nil
        case .cancelled:
            do {
                _ = try await submitter.cancel(task.name)
                logger.info("call cancelled by the client; cancel requested on its task", metadata: ["task": "\(task.key)"])
            } catch {
                logger.warning("could not cancel the task of a cancelled call", metadata: ["task": "\(task.key)", "error": "\(error)"])
            }
            return nil
        }
    }
}

/// One tools/call as the tool implementations see it.
struct ToolCall: Sendable {
    var id: JSONRPCID
    var arguments: JSONObject
    var meta: JSONObject
    var progress: ProgressTarget?
    var context: RequestContext
}
