import ArgumentParser
import ConductorAPI
import ConductorController
import ConductorMCP
import Foundation
import KubeClient
import Logging
import ServiceLifecycle

/// How MCP callers are authenticated.
enum MCPAuthMode: String, ExpressibleByArgument, CaseIterable {
    /// Everyone is system:anonymous: loopback only.
    case none
    /// Bearer tokens checked with a TokenReview, calls authorized with SubjectAccessReviews.
    case kubernetes
}

/// The MCP front end's options, shared by `run` and `dev`.
struct MCPOptions: ParsableArguments {
    @Option(help: "The MCP front end's port (streamable HTTP at /mcp); 8080 when not given, 0 for any free port.")
    var mcpPort: Int?

    @Option(help: "The address the MCP front end listens on; 127.0.0.1 when not given.")
    var mcpBind: String?

    @Option(help: "How MCP callers are authenticated: kubernetes (a bearer token checked with a TokenReview, each call authorized with a SubjectAccessReview on tasks.mcp.io; the default of run) or none (everyone is system:anonymous; allowed only on loopback; the default of dev).")
    var mcpAuth: MCPAuthMode?

    @Option(help: "An audience the callers' tokens must be meant for (repeatable; the TokenReview's spec.audiences). None: the API server's own.")
    var mcpAuthAudience: [String] = []

    @Option(help: "Seconds a tool call without a progress token waits for its task before answering with the task's name (the work goes on; conductor_wait fetches it). Under the 60 s many clients allow.")
    var mcpMaxCallWait: Double = 55

    @Option(help: "Where tool calls create their Tasks: the controller's --task-namespace when given, else default.")
    var mcpTaskNamespace: String?

    @Option(help: "A file holding the key (at least 32 bytes, hex or raw) that signs MCP session ids; every replica needs the same one (mount a Secret) so that any replica serves any session. dev: <data-dir>/mcp-session.key, made when missing; run without it: a key of this process only.")
    var mcpSessionKeyFile: String?

    @Option(help: "A browser Origin allowed to call the front end, such as https://app.example.com (repeatable); loopback origins are allowed when bound to loopback, and the front end's own host always.")
    var mcpAllowedOrigin: [String] = []

    @Option(help: "The OAuth authorization server (typically the cluster's OIDC issuer, whose tokens the TokenReview accepts) named in the protected resource metadata (RFC 9728) served at /.well-known/oauth-protected-resource, for clients that log in with OAuth.")
    var mcpOauthIssuer: String?

    @Option(help: "Tool calls one caller may have waiting on this replica; beyond it a call's task is still created, and the call answers at once with its name.")
    var mcpMaxCallsPerCaller: Int = 1000

    @Option(help: "Requests this replica's front end works on at once (routing them, calling their tool, writing their answer); more wait their turn in the order they came. A call waiting for its task, a GET stream or a subscription counts only until it is waiting or streaming.")
    var mcpMaxRequestsInProgress: Int = 64

    @Option(help: "Seconds an MCP task's handle (a task-augmented tools/call, 2025-11-25 Tasks) lasts after its task ended, when the client asks for no ttl; the Task resource is kept at least as long (its spec.ttlSecondsAfterFinished), however short --finished-task-ttl is.")
    var mcpTaskTTL: Double = 3600

    @Option(help: "The longest handle lifetime (seconds after the task ended) a client may ask for with task.ttl; longer requests get this.")
    var mcpTaskMaxTTL: Double = 7 * 24 * 3600

    @Option(help: "Seconds between the polls suggested to MCP task clients (pollInterval).")
    var mcpTaskPollInterval: Double = 1

    @Option(help: "MCP tasks one caller may have working at once; a task-augmented call beyond it is refused until some end or are cancelled.")
    var mcpMaxTasksPerCaller: Int = 1000

    @Option(help: ArgumentHelp("Seconds between progress notifications while a call that asked for progress waits and nothing changes.", visibility: .hidden))
    var mcpProgressInterval: Double = 15

    /// The flags given that only an MCP front end uses, by name: those without a default, which can tell. (A flag
    /// with a default given at its default value cannot be told from one not given.)
    var optionsGiven: [String] {
        var given: [String] = []
        if mcpPort != nil { given.append("--mcp-port") }
        if mcpBind != nil { given.append("--mcp-bind") }
        if mcpAuth != nil { given.append("--mcp-auth") }
        if !mcpAuthAudience.isEmpty { given.append("--mcp-auth-audience") }
        if mcpTaskNamespace != nil { given.append("--mcp-task-namespace") }
        if mcpSessionKeyFile != nil { given.append("--mcp-session-key-file") }
        if !mcpAllowedOrigin.isEmpty { given.append("--mcp-allowed-origin") }
        if mcpOauthIssuer != nil { given.append("--mcp-oauth-issuer") }
        return given
    }

    func validate() throws {
        if let mcpPort { guard (0...65535).contains(mcpPort) else { throw ValidationError("--mcp-port must be between 0 and 65535, got \(mcpPort)") } }
        guard mcpMaxCallWait > 0 else { throw ValidationError("--mcp-max-call-wait must be above 0, got \(mcpMaxCallWait)") }
        guard mcpMaxCallsPerCaller > 0 else { throw ValidationError("--mcp-max-calls-per-caller must be above 0, got \(mcpMaxCallsPerCaller)") }
        guard mcpMaxRequestsInProgress > 0 else {
            throw ValidationError("--mcp-max-requests-in-progress must be above 0, got \(mcpMaxRequestsInProgress)")
        }
        guard mcpProgressInterval > 0 else { throw ValidationError("--mcp-progress-interval must be above 0") }
        guard mcpTaskTTL >= 1, mcpTaskMaxTTL >= mcpTaskTTL, mcpTaskMaxTTL <= Double(Limits.maximumFinishedTaskTTLSeconds) else {
            throw ValidationError("--mcp-task-ttl must be at least 1 second and at most --mcp-task-max-ttl, itself at most \(Limits.maximumFinishedTaskTTLSeconds) seconds (a year), got \(mcpTaskTTL) and \(mcpTaskMaxTTL)")
        }
        guard mcpMaxTasksPerCaller > 0 else { throw ValidationError("--mcp-max-tasks-per-caller must be above 0, got \(mcpMaxTasksPerCaller)") }
        guard mcpTaskPollInterval > 0 else { throw ValidationError("--mcp-task-poll-interval must be above 0, got \(mcpTaskPollInterval)") }
        if let mcpTaskNamespace { try validateName(mcpTaskNamespace, option: "--mcp-task-namespace") }
    }

    /// The front end for `controller`: every replica serves one. `defaultAuth` is the command's: kubernetes for
    /// `run`, none for `dev` (on loopback).
    func frontEnd(controller: Controller, client: KubeClient, controllerOptions: ControllerOptions, defaultAuth: MCPAuthMode,
                  defaultSessionKeyFile: String?, logger: Logger, onServing: @escaping @Sendable (String) -> Void) throws -> MCPFrontEnd {
        let port = mcpPort ?? Installation.mcpPort
        let bind = mcpBind ?? "127.0.0.1"
        let authority: any CallerAuthority
        switch mcpAuth ?? defaultAuth {
        case .none:
            do { try MCPConfiguration.checkUnauthenticated(bind: bind) } catch { throw ValidationError("\(error)") }
            authority = NoAuthentication()
        case .kubernetes:
            authority = KubernetesAuthority(client: client, audiences: mcpAuthAudience, logger: logger)
        }
        let namespace = mcpTaskNamespace ?? controllerOptions.taskNamespace ?? "default"
        if let watched = controllerOptions.taskNamespace, watched != namespace {
            throw ValidationError("--mcp-task-namespace \(namespace) is not the controller's --task-namespace \(watched): its tasks would never be scheduled")
        }
        let key: [UInt8]
        if let file = mcpSessionKeyFile {
            key = try SessionKey.load(at: file)
        } else if let file = defaultSessionKeyFile {
            key = try SessionKey.loadOrCreate(at: file)
        } else {
            logger.warning("no --mcp-session-key-file: MCP sessions are valid on this replica only, until it restarts")
            key = SessionKey.ephemeral()
        }
        let configuration = MCPConfiguration(
            bind: bind, port: port, taskNamespace: namespace, maxCallWait: .milliseconds(Int64(mcpMaxCallWait * 1000)),
            progressHeartbeat: .milliseconds(Int64(mcpProgressInterval * 1000)), sessionKey: key, allowedOrigins: mcpAllowedOrigin,
            maxCallsPerCaller: mcpMaxCallsPerCaller, oauthIssuer: mcpOauthIssuer,
            taskTTL: .milliseconds(Int64(mcpTaskTTL * 1000)), taskMaxTTL: .milliseconds(Int64(mcpTaskMaxTTL * 1000)),
            taskPollInterval: .milliseconds(Int64(mcpTaskPollInterval * 1000)), finishedTaskTTLSeconds: controllerOptions.finishedTaskTTL,
            maxTasksPerCaller: mcpMaxTasksPerCaller, maxRequestsInProgress: mcpMaxRequestsInProgress)
        return MCPFrontEnd(configuration: configuration, controller: controller, client: client, authority: authority,
                           logger: logger, onServing: onServing)
    }
}

/// What `conductor dev` prints once MCP serves: the URL and a configuration to paste into a client.
func printMCPClientConfiguration(url: String) {
    let text = """

        MCP front end: \(url)
        Client configuration (Claude Code .mcp.json, Cursor, VS Code and other hosts that take mcpServers):
        {"mcpServers": {"conductor": {"type": "http", "url": "\(url)"}}}

        """
    FileHandle.standardOutput.write(Data(text.utf8))
}
