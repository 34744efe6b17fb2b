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
    /// connection and memory (about 90 KiB, Tests/e2e/measure_mcp_waits.py).
    public var maxCallsPerCaller: Int
    /// The OAuth authorization server to name in the protected resource metadata (RFC 9728); nil: none served.
    public var oauthIssuer: String?

    public init(bind: String, port: Int = Installation.mcpPort, taskNamespace: String, maxCallWait: Duration = .seconds(55),
                progressHeartbeat: Duration = .seconds(15), sessionKey: [UInt8], allowedOrigins: [String] = [],
                serverVersion: String = "0.1.0", maxCallsPerCaller: Int = 1000, oauthIssuer: String? = nil) {
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
