import ArgumentParser
import ConductorAPI
import ConductorController
import ConductorMCP
import Foundation
import KubeClient
import LocalAPIServer
import Logging
import Metrics
import Prometheus
import ServiceLifecycle

/// The controller's options, shared by `run` and `dev`.
struct ControllerOptions: ParsableArguments {
    @Option(help: "Where tasks are mirrored and scheduled; all namespaces when not given.")
    var taskNamespace: String?

    @Option(help: "Where the Agents and their heartbeat Leases are.")
    var agentNamespace: String = Installation.systemNamespace

    @Option(help: "The address of the operations endpoints (/healthz, /readyz, /metrics); 0.0.0.0 for run, 127.0.0.1 for dev when not given.")
    var healthBind: String?

    @Option(help: "The port of the operations endpoints.")
    var healthPort: Int = Installation.healthPort

    @Option(help: "The first retry's backoff, in seconds (linear: n × base; exponential: base × 2^(n-1)).")
    var retryBackoffBase: Double = 1

    @Option(help: "The longest retry backoff, in seconds.")
    var retryBackoffCap: Double = 300

    @Option(help: "How many times a task may return to Pending because its agent was lost, before it fails.")
    var maxAgentLossRetries: Int = Defaults.maxAgentLossRetries

    @Option(help: "Which Events on tasks to record: all (Assigned, Completed, ... too), or warnings (Failed, Retrying, AgentLost) to halve the writes per task at high volume. Agents' Events are always recorded.")
    var taskEvents: TaskEventLevel = .all

    @Flag(help: "Label each assigned task with its agent (mcp.io/assigned-agent), for agents on API servers older than 1.31, which watch by label rather than by the status.assignedAgent field.")
    var labelAssignedAgent = false

    @Option(help: "Seconds a finished task (Completed, or Failed for good) is kept before the leader deletes it, unless it sets spec.ttlSecondsAfterFinished; 0 deletes it as it finishes. At most a year.")
    var finishedTaskTTL: Int = FinishedTaskRetention.defaultTTLSeconds

    func validate() throws {
        guard (0...65535).contains(healthPort) else { throw ValidationError("--health-port must be between 0 and 65535, got \(healthPort)") }
        guard retryBackoffBase > 0, retryBackoffCap >= retryBackoffBase else {
            throw ValidationError("--retry-backoff-base must be above 0 and at most --retry-backoff-cap, got \(retryBackoffBase) and \(retryBackoffCap)")
        }
        guard (0...Limits.maximumFinishedTaskTTLSeconds).contains(finishedTaskTTL) else {
            throw ValidationError("--finished-task-ttl must be between 0 and \(Limits.maximumFinishedTaskTTLSeconds) seconds (a year), got \(finishedTaskTTL)")
        }
        guard maxAgentLossRetries >= 0 else { throw ValidationError("--max-agent-loss-retries must be 0 or more, got \(maxAgentLossRetries)") }
        if let taskNamespace { try validateName(taskNamespace, option: "--task-namespace") }
        try validateName(agentNamespace, option: "--agent-namespace")
    }

    var lifecycle: TaskLifecyclePolicy {
        TaskLifecyclePolicy(backoff: RetryBackoff(base: .seconds(retryBackoffBase), cap: .seconds(retryBackoffCap)),
                            maxAgentLossRetries: maxAgentLossRetries)
    }
}

enum TaskEventLevel: String, ExpressibleByArgument, CaseIterable { case all, warnings }

/// Leader election, as kube-controller-manager's flags of the same names.
struct LeaderElectionOptions: ParsableArguments {
    @Flag(help: "Contend for the leader-election Lease; only the leader schedules and monitors health. Without it the replica leads alone.")
    var leaderElect = false

    @Option(help: "The namespace of the leader-election Lease.")
    var leaderElectionNamespace: String = Installation.systemNamespace

    @Option(help: "The name of the leader-election Lease.")
    var leaderElectionLease: String = Installation.leaderElectionLeaseName

    @Option(help: "This replica's identity in the Lease (the pod's name); the host name when not given.")
    var leaderElectionIdentity: String?

    @Option(help: "Seconds a follower waits, after the last renewal it saw, before taking the Lease over.")
    var leaderElectionLeaseDuration: Double = 15

    @Option(help: "Seconds the leader keeps trying to renew before it stops leading.")
    var leaderElectionRenewDeadline: Double = 10

    @Option(help: "Seconds between tries to acquire or renew.")
    var leaderElectionRetryPeriod: Double = 2

    func validate() throws {
        guard leaderElect else { return }
        try validateName(leaderElectionNamespace, option: "--leader-election-namespace")
        try validateName(leaderElectionLease, option: "--leader-election-lease")
        if let leaderElectionIdentity, leaderElectionIdentity.isEmpty {
            throw ValidationError("--leader-election-identity must not be empty")
        }
        // The elector checks the durations' relations itself (LeaderElectionConfig.validate), with client-go's wording.
    }

    var configuration: ControllerConfiguration.LeaderElection? {
        guard leaderElect else { return nil }
        return ControllerConfiguration.LeaderElection(
            identity: leaderElectionIdentity ?? ProcessInfo.processInfo.hostName, namespace: leaderElectionNamespace,
            leaseName: leaderElectionLease, leaseDuration: .seconds(leaderElectionLeaseDuration),
            renewDeadline: .seconds(leaderElectionRenewDeadline), retryPeriod: .seconds(leaderElectionRetryPeriod))
    }
}

/// A DNS-1123 label, as a namespace or Lease name must be: checked before anything is sent.
func validateName(_ name: String, option: String) throws {
    guard Names.isDNS1123Label(name) else {
        throw ValidationError("\(option) \"\(name)\" is not a valid name: lower-case letters, digits and '-', starting and ending with a letter or digit, at most 63 characters")
    }
}

struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run the controller against a Kubernetes API server: in a pod (its service account) or with a kubeconfig.")

    @Option(help: "The kubeconfig to use; else $KUBECONFIG, the pod's service account when in a cluster, or ~/.kube/config.")
    var kubeconfig: String?

    @Option(help: "The kubeconfig context to use instead of its current one.")
    var context: String?

    @OptionGroup var controller: ControllerOptions
    @OptionGroup var leaderElection: LeaderElectionOptions
    @OptionGroup var mcp: MCPOptions

    @Flag(name: .customLong("no-mcp"), help: "Run the controller without the MCP front end (no port, no TokenReviews): Tasks are then made through the API server only, with kubectl or a client library.")
    var withoutMCP = false

    @Option(help: "Log format: text or json.")
    var logFormat: LogFormat = .text

    func validate() throws {
        if withoutMCP, let given = mcp.optionsGiven.first {
            throw ValidationError("--no-mcp runs no MCP front end: \(given) would configure it; drop one of the two")
        }
    }

    func run() async throws {
        bootstrapLogging(logFormat)
        let logger = Logger(label: "conductor.controller")
        let config: ClientConfig
        do {
            config = try .standard(kubeconfig: kubeconfig, context: context)
        } catch {
            logger.error("no API server to talk to", metadata: ["error": "\(error)"])
            throw ExitCode.failure
        }
        let registry = bootstrapMetrics()
        let client = try KubeClient(config: config, logger: Logger(label: "conductor.kube"))
        let (services, running) = try controllerServices(client: client, options: controller, healthBind: controller.healthBind ?? "0.0.0.0",
                                                         leaderElection: leaderElection.configuration, registry: registry, logger: logger)
        var frontEnd: [any Service] = []
        if withoutMCP {
            logger.info("no MCP front end (--no-mcp): Tasks are made through the API server only")
        } else {
            frontEnd.append(try mcp.frontEnd(controller: running, client: client, controllerOptions: controller, defaultAuth: .kubernetes,
                                             defaultSessionKeyFile: nil, logger: Logger(label: "conductor.mcp"), onServing: { _ in }))
        }
        logger.info("talking to the API server", metadata: ["server": "\(config.server)"])
        try await runServices(services + frontEnd, logger: logger)
        await client.shutdown()
    }
}

/// The controller and its operations endpoints, with an Event recorder: the services of `run`, and `dev`'s
/// beside the local API server.
func controllerServices(client: KubeClient, options: ControllerOptions, healthBind: String,
                        leaderElection: ControllerConfiguration.LeaderElection?, registry: PrometheusCollectorRegistry,
                        logger: Logger) throws -> (services: [any Service], controller: Controller) {
    let recorder = EventRecorder(client: client, component: "mcp-conductor-controller", host: leaderElection?.identity)
    let events: any ControllerEventSink = options.taskEvents == .all ? recorder : WarningsOnlyOnTasks(recorder)
    let controller = try Controller(
        client: client,
        configuration: ControllerConfiguration(taskNamespace: options.taskNamespace, agentNamespace: options.agentNamespace,
                                               leaderElection: leaderElection, lifecycle: options.lifecycle,
                                               labelAssignedAgent: options.labelAssignedAgent,
                                               retention: FinishedTaskRetention(defaultTTL: .seconds(options.finishedTaskTTL))),
        events: events, logger: logger)
    let operations = OperationsServer.make(bind: healthBind, port: options.healthPort, registry: registry,
                                           isReady: { controller.isSynced }, logger: logger)
    return ([EventRecorderService(recorder: recorder), controller, operations], controller)
}

/// Runs the event recorder's sender until graceful shutdown; Events still queued then are dropped.
struct EventRecorderService: Service {
    let recorder: EventRecorder

    func run() async throws {
        await cancelWhenGracefulShutdown { await recorder.run() }
    }
}

/// Prometheus as the swift-metrics backend, with buckets for what the controller times.
func bootstrapMetrics() -> PrometheusCollectorRegistry {
    let registry = PrometheusCollectorRegistry()
    var factory = PrometheusMetricsFactory(registry: registry)
    // Milliseconds matter: a scheduling decision and an API request take from under one to a few hundred.
    factory.defaultDurationHistogramBuckets = [
        .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(25),
        .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2.5), .seconds(5),
        .seconds(10),
    ]
    factory.durationHistogramBuckets = MCPMetrics.durationHistogramBuckets
    MetricsSystem.bootstrap(factory)
    return registry
}

func bootstrapLogging(_ format: LogFormat) {
    LoggingSystem.bootstrap { label in
        var handler = format == .json ? JSONLogHandler(label: label) as any LogHandler : StreamLogHandler.standardError(label: label)
        handler.logLevel = ProcessInfo.processInfo.environment["CONDUCTOR_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .info
        return handler
    }
}

/// Runs the services (and a `HeapTrimmer`) until SIGTERM or SIGINT, then shuts them down in reverse order, at
/// most 10 s.
func runServices(_ services: [any Service], logger: Logger) async throws {
    var configuration = ServiceGroupConfiguration(services: services + [HeapTrimmer()], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
    configuration.maximumGracefulShutdownDuration = .seconds(10)
    try await ServiceGroup(configuration: configuration).run()
}
