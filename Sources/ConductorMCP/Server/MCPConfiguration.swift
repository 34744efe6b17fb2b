import ConductorAPI

/// A front-end configuration that cannot work, worded with the flag to change.
public struct MCPConfigurationError: Error, Sendable, CustomStringConvertible {
    public var description: String
}

/// How the MCP front end listens and behaves.
public struct MCPConfiguration: Sendable {
    public var bind: String
    /// 0: any free port (tests).
    public var port: Int
    /// Where tool calls create their Tasks.
    public var taskNamespace: String
    /// How long a call without a progress token waits before answering with the task's name
    /// (`--mcp-max-call-wait`): under the 60 s many clients allow.
    public var maxCallWait: Duration
    /// The longest time without a progress notification while a call that asked for progress waits.
    public var progressHeartbeat: Duration
    /// The bytes of the key that signs session ids (`SessionKey`).
    public var sessionKey: [UInt8]
    /// Origins allowed besides loopback ones (when bound to loopback) and the request's own host.
    public var allowedOrigins: [String]
    /// The front end's name and version in `initialize`.
    public var serverVersion: String
    /// Calls one caller may have waiting on one replica (`--mcp-max-calls-per-caller`): each holds a
    /// connection and memory (about 10 KiB, Tests/e2e/measure_mcp_waits.py).
    public var maxCallsPerCaller: Int
    /// The OAuth authorization server to name in the protected resource metadata (RFC 9728); nil: none served.
    public var oauthIssuer: String?
    /// How long an MCP task handle lasts after its task ended when the client asks for no ttl (`--mcp-task-ttl`).
    public var taskTTL: Duration
    /// The most a client may ask for (`--mcp-task-max-ttl`): longer requests are cut to it.
    public var taskMaxTTL: Duration
    /// The `pollInterval` suggested to task clients (`--mcp-task-poll-interval`).
    public var taskPollInterval: Duration
    /// The controller's finished-task retention in seconds (`--finished-task-ttl`): a task handle's Task is
    /// kept at least that long, and longer when its handle lasts longer.
    public var finishedTaskTTLSeconds: Int
    /// MCP tasks one caller may have working at once (`--mcp-max-tasks-per-caller`), the per-requestor limit
    /// the Tasks specification asks for. Counted from this replica's cache, so replicas agree within moments.
    public var maxTasksPerCaller: Int
    /// Requests in progress at once on this replica (`--mcp-max-requests-in-progress`, `RequestAdmission`): enough
    /// to keep two cores and the API server busy, few enough that a burst of thousands of calls does not hold
    /// thousands of routings' memory at once.
    public var maxRequestsInProgress: Int

    public init(bind: String, port: Int = Installation.mcpPort, taskNamespace: String, maxCallWait: Duration = .seconds(55),
                progressHeartbeat: Duration = .seconds(15), sessionKey: [UInt8], allowedOrigins: [String] = [],
                serverVersion: String = "0.1.0", maxCallsPerCaller: Int = 1000, oauthIssuer: String? = nil,
                taskTTL: Duration = .seconds(3600), taskMaxTTL: Duration = .seconds(7 * 24 * 3600), taskPollInterval: Duration = .seconds(1),
                finishedTaskTTLSeconds: Int = 24 * 3600, maxTasksPerCaller: Int = 1000,
                maxRequestsInProgress: Int = 64) {
        self.bind = bind
        self.port = port
        self.taskNamespace = taskNamespace
        self.maxCallWait = maxCallWait
        self.progressHeartbeat = progressHeartbeat
        self.sessionKey = sessionKey
        self.allowedOrigins = allowedOrigins
        self.serverVersion = serverVersion
        self.maxCallsPerCaller = maxCallsPerCaller
        self.oauthIssuer = oauthIssuer
        self.taskTTL = taskTTL
        self.taskMaxTTL = taskMaxTTL
        self.taskPollInterval = taskPollInterval
        self.finishedTaskTTLSeconds = finishedTaskTTLSeconds
        self.maxTasksPerCaller = maxTasksPerCaller
        self.maxRequestsInProgress = maxRequestsInProgress
    }

    /// The largest request body: a tool's arguments become the Task's `spec.payload`, capped at
    /// `Limits.maximumPayloadBytes`; 16 KiB more leave room for the JSON-RPC envelope and `_meta`.
    public static let maximumBodyBytes = Limits.maximumPayloadBytes + 16 * 1024

    public var isLoopback: Bool { Self.isLoopback(bind) }

    public static func isLoopback(_ host: String) -> Bool {
        host == "127.0.0.1" || host == "::1" || host == "localhost" || host.hasPrefix("127.")
    }

    /// Refuses a front end without authentication anywhere but loopback.
    public static func checkUnauthenticated(bind: String) throws(MCPConfigurationError) {
        guard isLoopback(bind) else {
            throw MCPConfigurationError(description: "--mcp-auth none serves anyone who can reach the port: it is allowed only with --mcp-bind on loopback (127.0.0.1 or ::1), not \(bind)")
        }
    }
}
