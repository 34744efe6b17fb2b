import ConductorAPI
import Foundation
import KubeJSON
import Yams

extension AgentFileConfiguration {
    static let topLevelFields = [
        "name", "namespace", "taskNamespace", "maxConcurrentTasks", "tags", "resources", "heartbeat", "drainTimeoutSeconds",
        "selectTasksByLabel", "capabilities", "command", "http", "timeoutSeconds", "mcpServers",
    ]
    static let capabilityFields = [
        "name", "title", "description", "inputSchema", "outputSchema", "command", "http", "env", "workingDirectory", "timeoutSeconds",
        "terminationGracePeriodSeconds",
    ]

    /// Reads a configuration file's text. `file` names it in errors.
    public static func parse(yaml: String, file: String) throws(ConfigurationError) -> AgentFileConfiguration {
        let root: Node
        do {
            guard let node = try Yams.compose(yaml: yaml) else { return AgentFileConfiguration() }
            root = node
        } catch {
            throw ConfigurationError(field: "(file)", reason: "not valid YAML: \(error)", source: file)
        }
        let top = YAMLField(node: root, path: "", file: file)
        let fields = try top.mapping(known: topLevelFields)
        var configuration = AgentFileConfiguration()
        configuration.name = try fields["name"]?.string()
        configuration.namespace = try fields["namespace"]?.string()
        configuration.taskNamespace = try fields["taskNamespace"]?.string()
        configuration.maxConcurrentTasks = try fields["maxConcurrentTasks"]?.int()
        configuration.tags = try fields["tags"]?.strings()
        if let resources = fields["resources"] { configuration.resources = try parseResources(resources) }
        if let heartbeat = fields["heartbeat"] {
            let settings = try heartbeat.mapping(known: ["intervalSeconds", "leaseDurationSeconds"])
            configuration.heartbeatIntervalSeconds = try settings["intervalSeconds"]?.number()
            configuration.leaseDurationSeconds = try settings["leaseDurationSeconds"]?.int()
        }
        configuration.drainTimeoutSeconds = try fields["drainTimeoutSeconds"]?.number()
        configuration.selectTasksByLabel = try fields["selectTasksByLabel"]?.bool()
        if let servers = fields["mcpServers"] {
            for item in try servers.sequence() { configuration.mcpServers.append(try parseMCPServer(item)) }
        }
        // A command or http at the top level runs every capability that has none of its own.
        let shared = try parseExecutor(fields, in: top, required: false)
        let sharedTimeout = try fields["timeoutSeconds"]?.number()
        guard let list = fields["capabilities"] else {
            if configuration.mcpServers.isEmpty { throw top.error("capabilities: at least one capability (or an mcpServers entry) is required") }
            return configuration
        }
        for item in try list.sequence() {
            configuration.capabilities.append(try parseCapability(item, sharedExecutor: shared, sharedTimeout: sharedTimeout))
        }
        return configuration
    }

    static let mcpServerFields = [
        "name", "command", "url", "headers", "env", "workingDirectory", "toolPrefix", "tools", "timeoutSeconds", "startTimeoutSeconds",
        "terminationGracePeriodSeconds",
    ]

    private static func parseMCPServer(_ item: YAMLField) throws(ConfigurationError) -> MCPServerConfiguration {
        let fields = try item.mapping(known: mcpServerFields)
        guard let nameField = fields["name"] else { throw item.error("name is required") }
        let name = try nameField.string()
        var server: MCPServerConfiguration
        switch (fields["command"], fields["url"]) {
        case (.some, .some):
            throw item.error("mcpServers entry \"\(name)\" has both command and url: one transport")
        case (.some(let command), nil):
            server = MCPServerConfiguration(name: name, command: try command.strings())
        case (nil, .some(let urlField)):
            let text = try urlField.string()
            guard let url = URL(string: text), let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https", url.host != nil else {
                throw urlField.error("\"\(text)\" must be an http:// or https:// URL with a host (the server's streamable HTTP endpoint)")
            }
            server = MCPServerConfiguration(name: name, command: [])
            server.url = url
            server.headers = try fields["headers"]?.stringMap() ?? [:]
        case (nil, nil):
            throw item.error("mcpServers entry \"\(name)\" needs command: [program, args...] (stdio) or url: (streamable HTTP)")
        }
        if server.url == nil, let headers = fields["headers"] { throw headers.error("applies to a url (streamable HTTP) only") }
        for key in ["env", "workingDirectory"] where server.url != nil {
            if let field = fields[key] { throw field.error("applies to a command (stdio) only") }
        }
        if let env = fields["env"] { server.environment = try env.stringMap() }
        server.workingDirectory = try fields["workingDirectory"]?.string()
        server.toolPrefix = try fields["toolPrefix"]?.string() ?? ""
        server.tools = try fields["tools"]?.strings()
        server.timeoutSeconds = try fields["timeoutSeconds"]?.number()
        if let value = fields["startTimeoutSeconds"] { server.startTimeoutSeconds = try value.number() }
        if let value = fields["terminationGracePeriodSeconds"] { server.terminationGracePeriodSeconds = try value.number() }
        return server
    }

    private static func parseResources(_ field: YAMLField) throws(ConfigurationError) -> ComputeResources {
        let fields = try field.mapping(known: ["cpu", "memory", "gpu"])
        var resources = ComputeResources()
        for key in ["cpu", "memory"] {
            guard let value = fields[key] else { continue }
            let text = try value.string()
            let quantity: Quantity
            do {
                quantity = try Quantity(text)
            } catch {
                throw value.error("\"\(text)\" is not a quantity (for example 500m, 2, 1Gi): \(error)")
            }
            if key == "cpu" { resources.cpu = quantity } else { resources.memory = quantity }
        }
        resources.gpu = try fields["gpu"]?.bool()
        return resources
    }

    private static func parseCapability(_ item: YAMLField, sharedExecutor: ExecutorConfiguration?,
                                        sharedTimeout: Double?) throws(ConfigurationError) -> CapabilityConfiguration {
        let fields = try item.mapping(known: capabilityFields)
        guard let nameField = fields["name"] else { throw item.error("name is required") }
        let name = try nameField.string()
        guard var executor = try parseExecutor(fields, in: item, required: false) ?? sharedExecutor else {
            throw item.error("capability \"\(name)\" has no executor: give it command: [program, args...] or http: {url: ...}, or give one at the top level for all")
        }
        var capability = CapabilityConfiguration(name: name, executor: executor)
        capability.title = try fields["title"]?.string()
        capability.description = try fields["description"]?.string()
        capability.inputSchema = try fields["inputSchema"]?.json()
        capability.outputSchema = try fields["outputSchema"]?.json()
        capability.timeoutSeconds = try fields["timeoutSeconds"]?.number() ?? sharedTimeout
        // Settings of the command executor, beside it in the capability.
        let commandOnly = ["env", "workingDirectory", "terminationGracePeriodSeconds"]
        if case .command(var command) = executor {
            if let env = fields["env"] { command.environment = try env.stringMap() }
            command.workingDirectory = try fields["workingDirectory"]?.string() ?? command.workingDirectory
            if let grace = fields["terminationGracePeriodSeconds"] { command.terminationGracePeriodSeconds = try grace.number() }
            executor = .command(command)
            capability.executor = executor
        } else if let key = commandOnly.first(where: { fields[$0] != nil }), let field = fields[key] {
            throw field.error("applies to a command executor only; capability \"\(name)\" has \(executor.kind)")
        }
        return capability
    }

    /// The `command` or `http` among `fields`: at most one.
    private static func parseExecutor(_ fields: [String: YAMLField], in parent: YAMLField,
                                      required: Bool) throws(ConfigurationError) -> ExecutorConfiguration? {
        switch (fields["command"], fields["http"]) {
        case (.some, .some):
            throw parent.error("has both command and http: one executor per capability")
        case (.some(let command), nil):
            return .command(CommandConfiguration(arguments: try command.strings()))
        case (nil, .some(let http)):
            let settings = try http.mapping(known: ["url", "headers", "maxResponseBytes"])
            guard let urlField = settings["url"] else { throw http.error("url is required") }
            let text = try urlField.string()
            guard let url = URL(string: text) else { throw urlField.error("\"\(text)\" is not a URL") }
            var configuration = HTTPConfiguration(url: url)
            configuration.headers = try settings["headers"]?.stringMap() ?? [:]
            if let max = settings["maxResponseBytes"] { configuration.maxResponseBytes = try max.int() }
            return .http(configuration)
        case (nil, nil):
            if required { throw parent.error("needs command or http") }
            return nil
        }
    }
}
