import ArgumentParser
import ConductorAPI
import ConductorAgent
import ConductorAgentHost
import Foundation
import KubeClient
import Logging
import Metrics
import Prometheus
import ServiceLifecycle
import UnixSignals

#if canImport(Glibc)
import Glibc
#endif

/// `conductor agent --config agent.yaml`: an agent pod's process. It registers an Agent with the configured
/// capabilities, heartbeats, runs each task assigned to it with the capability's executor, and drains on
/// SIGTERM (see `AgentService`).
struct AgentCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agent",
        abstract: "Run an agent: register its capabilities, run the tasks assigned to it with their executors, drain on SIGTERM.",
        discussion: """
            Settings come from the configuration file, overridden by environment variables (CONDUCTOR_AGENT_NAME, \
            CONDUCTOR_AGENT_NAMESPACE, CONDUCTOR_AGENT_TASK_NAMESPACE, CONDUCTOR_AGENT_MAX_CONCURRENT_TASKS, CONDUCTOR_AGENT_TAGS, \
            CONDUCTOR_AGENT_HEARTBEAT_INTERVAL_SECONDS, CONDUCTOR_AGENT_LEASE_DURATION_SECONDS, CONDUCTOR_AGENT_DRAIN_TIMEOUT_SECONDS, \
            CONDUCTOR_AGENT_SELECT_TASKS_BY_LABEL), overridden by flags. The name defaults to $POD_NAME, else the host name.
            """)

    @Option(help: "The agent configuration file (YAML); else $CONDUCTOR_AGENT_CONFIG.")
    var config: String?

    @Option(help: "The Agent's name (also its heartbeat Lease's).")
    var name: String?

    @Option(help: "Where the Agent and its Lease live (default mcp-system).")
    var namespace: String?

    @Option(help: "Where its tasks may be; all namespaces when not given.")
    var taskNamespace: String?

    @Option(help: "At most this many tasks at once.")
    var maxConcurrentTasks: Int?

    @Option(help: "Scheduling tags, comma-separated.")
    var tags: String?

    @Option(help: "Seconds between heartbeat renewals.")
    var heartbeatInterval: Double?

    @Option(help: "Seconds a heartbeat counts for.")
    var leaseDuration: Int?

    @Option(help: "Seconds running tasks have to finish after SIGTERM before they are handed back to another agent (default 30).")
    var drainTimeout: Double?

    @Flag(help: "Watch tasks by the mcp.io/assigned-agent label, for API servers older than 1.31 (the controller needs --label-assigned-agent).")
    var selectTasksByLabel = false

    @Option(help: "The kubeconfig to use; else $KUBECONFIG, the pod's service account when in a cluster, or ~/.kube/config.")
    var kubeconfig: String?

    @Option(help: "The kubeconfig context to use instead of its current one.")
    var context: String?

    @Option(help: "The address of the operations endpoints (/healthz, /readyz, /metrics).")
    var healthBind: String = "0.0.0.0"

    @Option(help: "The port of the operations endpoints; 0 for none.")
    var healthPort: Int = Installation.healthPort

    @Option(help: "Log format: text or json.")
    var logFormat: LogFormat = .text

    func validate() throws {
        guard (0...65535).contains(healthPort) else { throw ValidationError("--health-port must be between 0 and 65535, got \(healthPort)") }
    }

    func run() async throws {
        bootstrapLogging(logFormat)
        let logger = Logger(label: "conductor.agent")
        // A program that exits without reading its input must not take the agent with it.
        signal(SIGPIPE, SIG_IGN)
        let settings: AgentSettings
        do {
            settings = try loadSettings()
        } catch {
            logger.error("cannot start the agent", metadata: ["error": "\(error)"])
            throw ExitCode(2)
        }
        let clientConfig: ClientConfig
        do {
            clientConfig = try .standard(kubeconfig: kubeconfig, context: context)
        } catch {
            logger.error("no API server to talk to", metadata: ["error": "\(error)"])
            throw ExitCode.failure
        }
        let registry = bootstrapAgentMetrics()
        let client = try KubeClient(config: clientConfig, logger: Logger(label: "conductor.kube"))
        // Before anything is registered: may it read the tasks it would watch? A role bound in one namespace
        // does not cover a watch of every namespace, and the watch would otherwise retry a 403 for ever.
        do {
            _ = try await client.resource(TaskResource.self, namespace: settings.taskNamespace)
                .list(ListOptions(fieldSelector: "\(FieldPaths.taskAssignedAgent)=\(settings.name)", limit: 1))
        } catch let error as KubeAPIError where error.reason == .forbidden || error.reason == .unauthorized {
            let scope = settings.taskNamespace.map { "in namespace \($0)" } ?? "in every namespace (no taskNamespace is set)"
            logger.error("cannot start the agent: it may not list tasks \(scope); set taskNamespace to a namespace its role is bound in, or bind the agents' tasks role where its tasks are",
                         metadata: ["error": "\(error)"])
            await client.shutdown()
            throw ExitCode.failure
        } catch {
            // Not an answer about its rights (the server is starting, say): the runtime's own retries handle it.
            logger.debug("task list check inconclusive", metadata: ["error": "\(error)"])
        }
        let host = AgentHost(settings: settings, logger: logger)
        // The MCP servers first: their tools are capabilities the Agent registers with.
        let changes = ToolChanges()
        let tools: [CapabilityDetail]
        do {
            tools = try await host.startMCPServers { tools in await changes.apply(tools) }
        } catch {
            logger.error("cannot start the agent: an MCP server did not start", metadata: ["error": "\(error)"])
            await host.stopMCPServers()
            throw ExitCode.failure
        }
        guard !(settings.capabilities.isEmpty && tools.isEmpty) else {
            logger.error("cannot start the agent: its MCP servers offer no tool (check mcpServers[].tools), and it has no other capability")
            await host.stopMCPServers()
            throw ExitCode.failure
        }
        let runtime = AgentRuntime(client: client, configuration: settings.agentConfiguration(tools: tools), logger: logger,
                                   progressingHandler: host.handler)
        await changes.attach { tools in
            let spec = settings.spec(tools: tools)
            do {
                try await runtime.updateCapabilities(spec.capabilities, details: spec.capabilityDetails)
            } catch {
                logger.warning("could not update the Agent's capabilities", metadata: ["error": "\(error)"])
            }
        }
        logger.info("starting", metadata: [
            "agent": "\(settings.namespace)/\(settings.name)", "server": "\(clientConfig.server)",
            "capabilities": "\((settings.capabilities.map { "\($0.name) (\($0.executor.kind))" } + tools.map { "\($0.name) (mcp)" }).joined(separator: ", "))",
        ])
        let agent = AgentService(runtime: runtime, drainTimeout: settings.drainTimeout, logger: logger)
        var services: [any Service] = [HeapTrimmer()]
        if healthPort != 0 {
            services.append(OperationsServer.make(bind: healthBind, port: healthPort, registry: registry,
                                                  isReady: { runtime.isReady }, logger: logger))
        }
        // Last, so that it is shut down first, while the operations endpoints still answer.
        services.append(agent)
        var configuration = ServiceGroupConfiguration(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        configuration.maximumGracefulShutdownDuration = settings.drainTimeout + .seconds(30)
        try await ServiceGroup(configuration: configuration).run()
        await host.stopMCPServers()
        await client.shutdown()
        if agent.outcome.interrupted {
            logger.warning("stopped before the drain finished: the controller hands back what the agent held once its heartbeat expires")
            throw ExitCode.failure
        }
        logger.info("stopped")
    }

    /// The file, then the environment, then the flags.
    private func loadSettings() throws -> AgentSettings {
        let environment = ProcessInfo.processInfo.environment
        var file = AgentFileConfiguration()
        if let path = config ?? environment["CONDUCTOR_AGENT_CONFIG"] {
            let text: String
            do {
                text = try String(contentsOfFile: path, encoding: .utf8)
            } catch {
                throw ConfigurationError(field: "(file)", reason: "cannot read \(path): \(error.localizedDescription)")
            }
            file = try AgentFileConfiguration.parse(yaml: text, file: path)
        }
        var flags = AgentOverrides()
        flags.name = name
        flags.namespace = namespace
        flags.taskNamespace = taskNamespace
        flags.maxConcurrentTasks = maxConcurrentTasks
        flags.tags = tags.map { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } }
        flags.heartbeatIntervalSeconds = heartbeatInterval
        flags.leaseDurationSeconds = leaseDuration
        flags.drainTimeoutSeconds = drainTimeout
        flags.selectTasksByLabel = selectTasksByLabel ? true : nil
        let overrides = try AgentOverrides.fromEnvironment(environment).overridden(by: flags)
        return try AgentSettings.resolve(file: file, overrides: overrides, environment: environment,
                                         hostName: ProcessInfo.processInfo.hostName)
    }
}

/// Prometheus as the swift-metrics backend, with buckets for how long tasks run (up to ten minutes).
private func bootstrapAgentMetrics() -> PrometheusCollectorRegistry {
    let registry = PrometheusCollectorRegistry()
    var factory = PrometheusMetricsFactory(registry: registry)
    factory.defaultDurationHistogramBuckets = [
        .milliseconds(10), .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2.5),
        .seconds(5), .seconds(10), .seconds(30), .seconds(60), .seconds(120), .seconds(300), .seconds(600),
    ]
    MetricsSystem.bootstrap(factory)
    return registry
}
