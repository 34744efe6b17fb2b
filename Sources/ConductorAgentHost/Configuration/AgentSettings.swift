import ConductorAPI
import ConductorAgent
import Foundation
import KubeJSON

/// Settings given on the command line or in the environment, over the file's.
public struct AgentOverrides: Sendable, Equatable {
    public var name: String?
    public var namespace: String?
    public var taskNamespace: String?
    public var maxConcurrentTasks: Int?
    public var tags: [String]?
    public var heartbeatIntervalSeconds: Double?
    public var leaseDurationSeconds: Int?
    public var drainTimeoutSeconds: Double?
    public var selectTasksByLabel: Bool?

    public init() {}

    /// The environment variables of the same settings (`CONDUCTOR_AGENT_NAME`, ...). A value that does not
    /// parse is an error naming the variable.
    public static func fromEnvironment(_ environment: [String: String]) throws(ConfigurationError) -> AgentOverrides {
        var overrides = AgentOverrides()
        func value(_ key: String) -> String? {
            guard let text = environment[key]?.trimmingCharacters(in: .whitespaces), !text.isEmpty else { return nil }
            return text
        }
        func number<T: LosslessStringConvertible>(_ key: String, field: String) throws(ConfigurationError) -> T? {
            guard let text = value(key) else { return nil }
            guard let parsed = T(text) else { throw ConfigurationError(field: field, reason: "\"\(text)\" is not a number", source: "environment variable \(key)") }
            return parsed
        }
        overrides.name = value(EnvironmentKeys.name)
        overrides.namespace = value(EnvironmentKeys.namespace)
        overrides.taskNamespace = value(EnvironmentKeys.taskNamespace)
        overrides.maxConcurrentTasks = try number(EnvironmentKeys.maxConcurrentTasks, field: "maxConcurrentTasks")
        overrides.tags = value(EnvironmentKeys.tags).map { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } }
        overrides.heartbeatIntervalSeconds = try number(EnvironmentKeys.heartbeatIntervalSeconds, field: "heartbeat.intervalSeconds")
        overrides.leaseDurationSeconds = try number(EnvironmentKeys.leaseDurationSeconds, field: "heartbeat.leaseDurationSeconds")
        overrides.drainTimeoutSeconds = try number(EnvironmentKeys.drainTimeoutSeconds, field: "drainTimeoutSeconds")
        if let text = value(EnvironmentKeys.selectTasksByLabel) {
            guard let flag = Bool(text.lowercased()) else {
                throw ConfigurationError(field: "selectTasksByLabel", reason: "\"\(text)\" is not true or false", source: "environment variable \(EnvironmentKeys.selectTasksByLabel)")
            }
            overrides.selectTasksByLabel = flag
        }
        return overrides
    }

    /// `other`'s settings where it has them, else these.
    public func overridden(by other: AgentOverrides) -> AgentOverrides {
        var merged = self
        merged.name = other.name ?? name
        merged.namespace = other.namespace ?? namespace
        merged.taskNamespace = other.taskNamespace ?? taskNamespace
        merged.maxConcurrentTasks = other.maxConcurrentTasks ?? maxConcurrentTasks
        merged.tags = other.tags ?? tags
        merged.heartbeatIntervalSeconds = other.heartbeatIntervalSeconds ?? heartbeatIntervalSeconds
        merged.leaseDurationSeconds = other.leaseDurationSeconds ?? leaseDurationSeconds
        merged.drainTimeoutSeconds = other.drainTimeoutSeconds ?? drainTimeoutSeconds
        merged.selectTasksByLabel = other.selectTasksByLabel ?? selectTasksByLabel
        return merged
    }
}

/// The environment variables `conductor agent` reads.
public enum EnvironmentKeys {
    /// The pod's name, from the downward API: the Agent's name when none is given.
    public static let podName = "POD_NAME"
    public static let name = "CONDUCTOR_AGENT_NAME"
    public static let namespace = "CONDUCTOR_AGENT_NAMESPACE"
    public static let taskNamespace = "CONDUCTOR_AGENT_TASK_NAMESPACE"
    public static let maxConcurrentTasks = "CONDUCTOR_AGENT_MAX_CONCURRENT_TASKS"
    /// Comma-separated.
    public static let tags = "CONDUCTOR_AGENT_TAGS"
    public static let heartbeatIntervalSeconds = "CONDUCTOR_AGENT_HEARTBEAT_INTERVAL_SECONDS"
    public static let leaseDurationSeconds = "CONDUCTOR_AGENT_LEASE_DURATION_SECONDS"
    public static let drainTimeoutSeconds = "CONDUCTOR_AGENT_DRAIN_TIMEOUT_SECONDS"
    public static let selectTasksByLabel = "CONDUCTOR_AGENT_SELECT_TASKS_BY_LABEL"
}

/// Everything `conductor agent` runs with, resolved (flags over environment over file over defaults) and
/// checked.
public struct AgentSettings: Sendable {
    public var name: String
    public var namespace: String
    public var taskNamespace: String?
    public var maxConcurrentTasks: Int
    public var tags: [String]
    public var resources: ComputeResources?
    public var heartbeatInterval: Duration
    public var leaseDurationSeconds: Int
    /// How long running tasks have to finish after SIGTERM before they are handed back.
    public var drainTimeout: Duration
    public var selectTasksByLabel: Bool
    public var capabilities: [CapabilityConfiguration]
    public var mcpServers: [MCPServerConfiguration] = []

    public static let defaultDrainTimeoutSeconds = 30.0

    /// - Parameters:
    ///   - overrides: flags over environment variables (`AgentOverrides.overridden(by:)`).
    ///   - environment: for `POD_NAME`.
    ///   - hostName: the Agent's name when neither the settings nor `POD_NAME` give one.
    public static func resolve(file: AgentFileConfiguration, overrides: AgentOverrides, environment: [String: String],
                               hostName: String) throws(ConfigurationError) -> AgentSettings {
        let name = overrides.name ?? file.name ?? environment[EnvironmentKeys.podName].flatMap { $0.isEmpty ? nil : $0 } ?? hostName.lowercased()
        let settings = AgentSettings(
            name: name,
            namespace: overrides.namespace ?? file.namespace ?? Installation.systemNamespace,
            taskNamespace: overrides.taskNamespace ?? file.taskNamespace,
            maxConcurrentTasks: overrides.maxConcurrentTasks ?? file.maxConcurrentTasks ?? Defaults.maxConcurrentTasks,
            tags: overrides.tags ?? file.tags ?? [],
            resources: file.resources,
            heartbeatInterval: .seconds(overrides.heartbeatIntervalSeconds ?? file.heartbeatIntervalSeconds
                ?? Double(HeartbeatLease.defaultRenewInterval.components.seconds)),
            leaseDurationSeconds: overrides.leaseDurationSeconds ?? file.leaseDurationSeconds ?? HeartbeatLease.defaultDurationSeconds,
            drainTimeout: .seconds(overrides.drainTimeoutSeconds ?? file.drainTimeoutSeconds ?? defaultDrainTimeoutSeconds),
            selectTasksByLabel: overrides.selectTasksByLabel ?? file.selectTasksByLabel ?? false,
            capabilities: file.capabilities, mcpServers: file.mcpServers)
        try settings.validate()
        return settings
    }

    func validate() throws(ConfigurationError) {
        // The name is also the heartbeat Lease's and a label's value (mcp.io/agent): a DNS-1123 subdomain of
        // at most 63 characters, as pod names are in practice.
        guard NameRules.isSubdomain(name), name.count <= 63 else {
            throw ConfigurationError(field: "name", reason: "\"\(name)\" is not a valid agent name: lower-case letters, digits, '-' and '.', starting and ending with a letter or digit, at most 63 characters (it is the pod's name in a cluster)")
        }
        try Self.checkLabel(namespace, field: "namespace")
        if let taskNamespace { try Self.checkLabel(taskNamespace, field: "taskNamespace") }
        guard maxConcurrentTasks >= 1 else {
            throw ConfigurationError(field: "maxConcurrentTasks", reason: "must be at least 1, got \(maxConcurrentTasks)")
        }
        for (index, tag) in tags.enumerated() where tag.isEmpty {
            throw ConfigurationError(field: "tags[\(index)]", reason: "a tag may not be empty")
        }
        guard heartbeatInterval > .zero else { throw ConfigurationError(field: "heartbeat.intervalSeconds", reason: "must be above 0") }
        guard Duration.seconds(leaseDurationSeconds) > heartbeatInterval else {
            throw ConfigurationError(field: "heartbeat.leaseDurationSeconds",
                                     reason: "must be longer than heartbeat.intervalSeconds (\(heartbeatInterval)), so that a renewal comes before the Lease expires; got \(leaseDurationSeconds)")
        }
        guard drainTimeout >= .zero else { throw ConfigurationError(field: "drainTimeoutSeconds", reason: "must be 0 or more") }
        guard !capabilities.isEmpty || !mcpServers.isEmpty else {
            throw ConfigurationError(field: "capabilities", reason: "at least one capability (or an mcpServers entry) is required: an agent without one is never assigned a task")
        }
        var servers: Set<String> = []
        for (index, server) in mcpServers.enumerated() {
            let field = "mcpServers[\(index)]"
            guard NameRules.isLabel(server.name) else {
                throw ConfigurationError(field: "\(field).name", reason: "\"\(server.name)\" must be lower-case letters, digits and '-', at most 63 characters")
            }
            guard servers.insert(server.name).inserted else { throw ConfigurationError(field: "\(field).name", reason: "\"\(server.name)\" is given twice") }
            guard server.url != nil || server.command.first?.isEmpty == false else {
                throw ConfigurationError(field: "\(field).command", reason: "must list the server's program and its arguments, for example [\"python3\", \"-m\", \"mcp_server_time\"]")
            }
            if let timeout = server.timeoutSeconds, timeout <= 0 { throw ConfigurationError(field: "\(field).timeoutSeconds", reason: "must be above 0") }
            guard server.startTimeoutSeconds > 0 else { throw ConfigurationError(field: "\(field).startTimeoutSeconds", reason: "must be above 0") }
            if !server.toolPrefix.isEmpty, !server.toolPrefix.allSatisfy(CapabilityConfiguration.nameCharacters.contains) {
                throw ConfigurationError(field: "\(field).toolPrefix", reason: "\"\(server.toolPrefix)\" may hold only letters, digits, '_', '-' and '.'")
            }
        }
        var seen: Set<String> = []
        for (index, capability) in capabilities.enumerated() {
            try capability.validate(field: "capabilities[\(index)]")
            guard seen.insert(capability.name).inserted else {
                throw ConfigurationError(field: "capabilities[\(index)].name", reason: "\"\(capability.name)\" is given twice")
            }
        }
        if let resources {
            if let cpu = resources.cpu, cpu.isNegative { throw ConfigurationError(field: "resources.cpu", reason: "may not be negative") }
            if let memory = resources.memory, memory.isNegative { throw ConfigurationError(field: "resources.memory", reason: "may not be negative") }
        }
    }

    private static func checkLabel(_ value: String, field: String) throws(ConfigurationError) {
        guard NameRules.isLabel(value) else {
            throw ConfigurationError(field: field, reason: "\"\(value)\" is not a valid namespace: lower-case letters, digits and '-', starting and ending with a letter or digit, at most 63 characters")
        }
    }

    /// What the agent runtime is given.
    public var agentConfiguration: AgentConfiguration { agentConfiguration(tools: []) }

    /// What the agent runtime is given, with the tools of the MCP servers as capabilities too.
    public func agentConfiguration(tools: [CapabilityDetail]) -> AgentConfiguration {
        AgentConfiguration(
            name: name, namespace: namespace,
            spec: spec(tools: tools),
            taskNamespace: taskNamespace, heartbeatInterval: heartbeatInterval, leaseDurationSeconds: leaseDurationSeconds,
            selectTasksByLabel: selectTasksByLabel)
    }
}

extension AgentSettings {
    /// The Agent's spec: the configured capabilities and the MCP servers' tools.
    public func spec(tools: [CapabilityDetail]) -> AgentSpec {
        let details = capabilities.map(\.detail) + tools
        return AgentSpec(capabilities: details.map(\.name), resources: resources, tags: tags, maxConcurrentTasks: maxConcurrentTasks,
                         capabilityDetails: details)
    }
}

extension CapabilityConfiguration {
    /// What a capability's name may hold: MCP tool names' characters (the front end offers each as a tool).
    static let nameCharacters = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.")

    /// 1 to 128 of `nameCharacters`.
    static func isValidName(_ name: String) -> Bool {
        (1...128).contains(name.count) && name.allSatisfy(nameCharacters.contains)
    }

    func validate(field: String) throws(ConfigurationError) {
        guard Self.isValidName(name) else {
            throw ConfigurationError(field: "\(field).name", reason: "\"\(name)\" is not a valid capability name: 1 to 128 letters, digits, '_', '-' or '.' (it becomes an MCP tool's name)")
        }
        for (key, schema) in [("inputSchema", inputSchema), ("outputSchema", outputSchema)] {
            guard let schema else { continue }
            guard case .object(let object) = schema else {
                throw ConfigurationError(field: "\(field).\(key)", reason: "must be a JSON Schema object, such as {type: object}")
            }
            if let type = object["type"], type != .string("object") {
                throw ConfigurationError(field: "\(field).\(key).type", reason: "must be \"object\": a task's payload and result are JSON objects")
            }
        }
        if let timeoutSeconds, timeoutSeconds <= 0 {
            throw ConfigurationError(field: "\(field).timeoutSeconds", reason: "must be above 0, got \(timeoutSeconds)")
        }
        switch executor {
        case .command(let command):
            guard let program = command.arguments.first, !program.isEmpty else {
                throw ConfigurationError(field: "\(field).command", reason: "must list the program and its arguments, for example [\"python3\", \"echo.py\"]")
            }
            guard command.terminationGracePeriodSeconds >= 0 else {
                throw ConfigurationError(field: "\(field).terminationGracePeriodSeconds", reason: "must be 0 or more")
            }
        case .http(let http):
            guard let scheme = http.url.scheme?.lowercased(), scheme == "http" || scheme == "https", let host = http.url.host, !host.isEmpty else {
                throw ConfigurationError(field: "\(field).http.url", reason: "\"\(http.url.absoluteString)\" must be an http:// or https:// URL with a host")
            }
            guard http.maxResponseBytes > 0 else {
                throw ConfigurationError(field: "\(field).http.maxResponseBytes", reason: "must be above 0")
            }
        }
    }
}

/// Kubernetes name rules for what the agent is given, checked before anything is sent.
enum NameRules {
    private static func isLowerAlphanumeric(_ c: Character) -> Bool { ("a"..."z").contains(c) || ("0"..."9").contains(c) }

    /// A DNS-1123 label: what a namespace must be.
    static func isLabel(_ s: String) -> Bool {
        guard let first = s.first, let last = s.last, s.count <= 63 else { return false }
        return isLowerAlphanumeric(first) && isLowerAlphanumeric(last) && s.allSatisfy { isLowerAlphanumeric($0) || $0 == "-" }
    }

    /// A DNS-1123 subdomain: dot-separated labels, at most 253 characters.
    static func isSubdomain(_ s: String) -> Bool {
        s.count <= 253 && s.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { isLabel(String($0)) }
    }
}
