import ConductorAPI
import Foundation
import KubeJSON

/// What an agent configuration file says (`conductor agent --config agent.yaml`), checked field by field
/// but not yet merged with flags and environment variables (`AgentSettings`). Absent fields are nil.
public struct AgentFileConfiguration: Sendable, Equatable {
    public var name: String?
    public var namespace: String?
    /// Where its tasks may be; every namespace when absent.
    public var taskNamespace: String?
    public var maxConcurrentTasks: Int?
    public var tags: [String]?
    public var resources: ComputeResources?
    public var heartbeatIntervalSeconds: Double?
    public var leaseDurationSeconds: Int?
    public var drainTimeoutSeconds: Double?
    public var selectTasksByLabel: Bool?
    public var capabilities: [CapabilityConfiguration] = []
    /// Downstream MCP servers whose tools become capabilities (mcp executor).
    public var mcpServers: [MCPServerConfiguration] = []

    public init() {}
}

/// The mcp executor: a downstream MCP server over stdio, kept running, whose tools become capabilities.
public struct MCPServerConfiguration: Sendable, Equatable {
    /// Names the server in logs, metrics and errors.
    public var name: String
    /// The server's program and arguments (stdio transport); empty when `url` is given.
    public var command: [String]
    /// The server's streamable HTTP endpoint, instead of a command.
    public var url: URL?
    /// Sent with every HTTP request (for example an Authorization header).
    public var headers: [String: String] = [:]
    public var environment: [String: String] = [:]
    public var workingDirectory: String?
    /// Put before each tool's name to make its capability's name.
    public var toolPrefix: String = ""
    /// Only these tools (by their name at the server); all when nil.
    public var tools: [String]?
    /// Each call's longest run; nil for no limit but the task's deadline.
    public var timeoutSeconds: Double?
    /// How long starting and listing tools may take.
    public var startTimeoutSeconds: Double = 30
    public var terminationGracePeriodSeconds: Double = 5

    public init(name: String, command: [String]) {
        self.name = name
        self.command = command
    }
}

/// One capability: how it is offered as a tool, and the executor that runs its tasks.
public struct CapabilityConfiguration: Sendable, Equatable {
    public var name: String
    public var title: String?
    public var description: String?
    public var inputSchema: JSON?
    public var outputSchema: JSON?
    public var executor: ExecutorConfiguration
    /// The longest an attempt may run, whatever the task's deadline; nil for no limit but the deadline.
    public var timeoutSeconds: Double?

    public init(name: String, title: String? = nil, description: String? = nil, inputSchema: JSON? = nil, outputSchema: JSON? = nil,
                executor: ExecutorConfiguration, timeoutSeconds: Double? = nil) {
        self.name = name
        self.title = title
        self.description = description
        self.inputSchema = inputSchema
        self.outputSchema = outputSchema
        self.executor = executor
        self.timeoutSeconds = timeoutSeconds
    }

    /// How the Agent offers it to the MCP front end.
    public var detail: CapabilityDetail {
        CapabilityDetail(name: name, title: title, description: description, inputSchema: inputSchema, outputSchema: outputSchema)
    }
}

/// Which executor runs a capability's tasks, with its settings.
public enum ExecutorConfiguration: Sendable, Equatable {
    case command(CommandConfiguration)
    case http(HTTPConfiguration)

    public var kind: String {
        switch self {
        case .command: "command"
        case .http: "http"
        }
    }
}

/// The command executor: a program run per task, from an argument list (no shell).
public struct CommandConfiguration: Sendable, Equatable {
    /// The program and its arguments; the program is looked up on PATH when it has no slash.
    public var arguments: [String]
    /// Added to the agent's own environment.
    public var environment: [String: String] = [:]
    /// Where it runs; the agent's own working directory when nil.
    public var workingDirectory: String?
    /// After SIGTERM (deadline, cancellation, drain hand-back), how long the process group has before SIGKILL.
    public var terminationGracePeriodSeconds: Double = 5
    /// Standard output above this fails the attempt with `ResultTooLarge` (the result could not be stored).
    public var maxOutputBytes: Int = Limits.maximumResultBytes

    public init(arguments: [String]) {
        self.arguments = arguments
    }
}

/// The http executor: the payload POSTed to a URL (a sidecar, typically).
public struct HTTPConfiguration: Sendable, Equatable {
    public var url: URL
    /// Sent with every request (for example an API key).
    public var headers: [String: String] = [:]
    /// A response body above this fails the attempt with `ResultTooLarge`.
    public var maxResponseBytes: Int = Limits.maximumResultBytes

    public init(url: URL) {
        self.url = url
    }
}
