import ConductorAPI
import KubeClient
import Logging
import ServiceLifecycle

/// What a controller replica watches and how it contends for leadership.
public struct ControllerConfiguration: Sendable {
    /// How replicas elect the one that schedules and monitors health.
    public struct LeaderElection: Sendable {
        /// This replica's name in the Lease: the pod's name in a cluster.
        public var identity: String
        public var namespace: String
        public var leaseName: String
        public var leaseDuration: Duration
        public var renewDeadline: Duration
        public var retryPeriod: Duration

        /// client-go's defaults (15 s, 10 s, 2 s): a dead leader is replaced within about 15 seconds; one that
        /// shuts down gives the Lease up at once.
        public init(identity: String, namespace: String = Installation.systemNamespace,
                    leaseName: String = Installation.leaderElectionLeaseName, leaseDuration: Duration = .seconds(15),
                    renewDeadline: Duration = .seconds(10), retryPeriod: Duration = .seconds(2)) {
            self.identity = identity
            self.namespace = namespace
            self.leaseName = leaseName
            self.leaseDuration = leaseDuration
            self.renewDeadline = renewDeadline
            self.retryPeriod = retryPeriod
        }
    }

    /// Where tasks are mirrored: nil for every namespace (tasks live in their submitters' namespaces).
    public var taskNamespace: String?
    /// Where the agents and their heartbeat Leases are.
    public var agentNamespace: String
    /// Nil: this replica leads alone, without a Lease (development, a single replica).
    public var leaderElection: LeaderElection?
    public var lifecycle: TaskLifecyclePolicy
    public var assignment: AssignmentLoopConfiguration
    /// Label each assigned task with its agent (`Labels.assignedAgent`), for agents on API servers older than
    /// 1.31, which cannot watch by the `status.assignedAgent` field. One more write per assignment.
    public var labelAssignedAgent: Bool
    /// How long finished tasks are kept before the leader deletes them.
    public var retention: FinishedTaskRetention

    public init(taskNamespace: String? = nil, agentNamespace: String = Installation.systemNamespace,
                leaderElection: LeaderElection? = nil, lifecycle: TaskLifecyclePolicy = TaskLifecyclePolicy(),
                assignment: AssignmentLoopConfiguration = AssignmentLoopConfiguration(), labelAssignedAgent: Bool = false,
                retention: FinishedTaskRetention = FinishedTaskRetention()) {
        self.taskNamespace = taskNamespace
        self.agentNamespace = agentNamespace
        self.leaderElection = leaderElection
        self.lifecycle = lifecycle
        self.assignment = assignment
        self.labelAssignedAgent = labelAssignedAgent
        self.retention = retention
    }
}

/// One controller replica: the informers for Tasks, Agents and heartbeat Leases on the client's one
/// connection, the supervisor with its task actors, the assignment loop with the scheduler, the health monitor,
/// the cleaner of finished tasks, and the leader election that opens the `LeadershipGate` for them. Every replica mirrors; only the leader
/// writes what the controller decides.
///
///     let controller = try Controller(client: client, configuration: ControllerConfiguration(), logger: logger)
///     let group = ServiceGroup(services: [controller], gracefulShutdownSignals: [.sigterm], logger: logger)
///     try await group.run()
///
/// On graceful shutdown the leader gives its Lease up, so that another replica takes over at its next try.
public final class Controller: Service {
    public let configuration: ControllerConfiguration
    public let supervisor: Supervisor
    public let assignments: AssignmentLoop
    public let healthMonitor: HealthMonitor
    public let cleaner: FinishedTaskCleaner
    public let leadership: LeadershipGate
    public let tasks: Informer<TaskResource>
    public let agents: Informer<Agent>
    public let leases: Informer<Lease>
    private let elector: LeaderElector?
    private let events: any ControllerEventSink
    private let logger: Logger

    /// The controller's view of a task: everything but its payload, which only the agent that runs it reads
    /// (from its own watch). A payload may be 256 KiB; the cache keeps one view per task for as long as it
    /// lives. Status writes replace the status subresource only, so they never send the missing payload back.
    static let withoutPayload: @Sendable (TaskResource) -> TaskResource = { task in
        var view = task
        view.spec.payload = nil
        return view
    }

    /// - Parameters:
    ///   - clock: time for leases, timers, deadlines and backoff; a `ManualClock` in tests.
    ///   - events: where Events on tasks and agents go; an `EventRecorder` runs on its own (`EventRecorder.run`).
    public init(client: KubeClient, configuration: ControllerConfiguration, clock: any KubeClock = SystemClock(),
                events: any ControllerEventSink = NoEvents(), logger: Logger) throws {
        self.configuration = configuration
        self.events = events
        self.logger = logger
        tasks = try Informer(client.resource(TaskResource.self, namespace: configuration.taskNamespace),
                             transform: Self.withoutPayload,
                             reportUndecodable: Self.reportUndecodable(ResourceDescriptor.tasks, to: events))
        agents = try Informer(client.resource(Agent.self, namespace: configuration.agentNamespace),
                              reportUndecodable: Self.reportUndecodable(ResourceDescriptor.agents, to: events))
        leases = try Informer(client.resource(Lease.self, namespace: configuration.agentNamespace), options: HealthMonitor.leaseWatchOptions)
        leadership = LeadershipGate(leading: configuration.leaderElection == nil)
        let writer = TaskStatusWriter(client: client)
        assignments = try AssignmentLoop(tasks: tasks, agents: agents, writer: writer,
                                         labeler: configuration.labelAssignedAgent ? writer : nil, clock: clock, leadership: leadership,
                                         events: events, logger: logger, configuration: configuration.assignment)
        supervisor = Supervisor(tasks: tasks, agents: agents, context: TaskActorContext(
            policy: configuration.lifecycle, writer: writer, clock: clock, sink: assignments, leadership: leadership,
            events: events, logger: logger))
        healthMonitor = try HealthMonitor(leases: leases, agents: agents, clock: clock, leadership: leadership,
                                          events: events, logger: logger)
        cleaner = FinishedTaskCleaner(retention: configuration.retention, tasks: tasks, deleter: tasks.resource, clock: clock,
                                      leadership: leadership, logger: logger)
        if let election = configuration.leaderElection {
            let lock = LeaseLock(client: client, namespace: election.namespace, name: election.leaseName, identity: election.identity)
            let gateLogger = logger
            elector = try LeaderElector(
                config: LeaderElectionConfig(
                    lock: lock, leaseDuration: election.leaseDuration, renewDeadline: election.renewDeadline,
                    retryPeriod: election.retryPeriod, releaseOnCancel: true,
                    callbacks: leadership.callbacks(onNewLeader: { leader in
                        gateLogger.info("leader elected", metadata: ["leader": "\(leader)"])
                    }),
                    clock: clock),
                logger: logger)
        } else {
            elector = nil
        }
    }

    /// A Warning Event on an object the controller left out because it cannot read it, so that whoever wrote it
    /// sees why nothing happens to it (`kubectl describe`).
    private static func reportUndecodable(_ resource: ResourceDescriptor, to events: any ControllerEventSink)
        -> @Sendable (UndecodableObject) -> Void
    {
        { skipped in
            let parts = skipped.key.split(separator: "/", maxSplits: 1).map(String.init)
            let reference = ObjectReference(apiVersion: resource.apiVersion, kind: resource.kind,
                                            namespace: parts.count == 2 ? parts[0] : nil, name: parts.last,
                                            resourceVersion: skipped.resourceVersion)
            events.record(reference, type: .warning, reason: ControllerEventReason.undecodable,
                          message: "the controller cannot read this \(resource.kind) and leaves it alone until it is fixed: \(skipped.reason)")
        }
    }

    /// Whether the caches hold the cluster's state: every informer has listed once. Until then the replica
    /// is not ready to serve (/readyz).
    public var isSynced: Bool { tasks.hasSynced && agents.hasSynced && leases.hasSynced }

    /// Runs every part until graceful shutdown or cancellation; then the leader gives its Lease up and the
    /// informers stop.
    public func run() async throws {
        logger.info("controller starting", metadata: [
            "taskNamespace": "\(configuration.taskNamespace ?? "(all)")", "agentNamespace": "\(configuration.agentNamespace)",
            "leaderElection": "\(configuration.leaderElection.map { "\($0.namespace)/\($0.leaseName) as \($0.identity)" } ?? "off: leading alone")",
        ])
        try await cancelWhenGracefulShutdown {
            try await withThrowingDiscardingTaskGroup { group in
                group.addTask { try await self.tasks.run() }
                group.addTask { try await self.agents.run() }
                group.addTask { try await self.leases.run() }
                group.addTask { await self.supervisor.run() }
                group.addTask { await self.assignments.run() }
                group.addTask { await self.healthMonitor.run() }
                group.addTask { await self.cleaner.run() }
                group.addTask { await PhaseGauges.followTasks(self.tasks.events()) }
                group.addTask { await PhaseGauges.followAgents(self.agents.events()) }
                group.addTask { await CapabilityGauges().follow(tasks: self.tasks.events(), agents: self.agents.events()) }
                group.addTask {
                    for await leading in self.leadership.changes() { ControllerMetrics.recordLeading(leading) }
                }
                if let elector = self.elector {
                    group.addTask {
                        // Contend only once the caches are full: a new leader acts on what it mirrors.
                        try await self.tasks.waitUntilSynced()
                        try await self.agents.waitUntilSynced()
                        try await self.leases.waitUntilSynced()
                        try await elector.run()
                    }
                }
            }
        }
        logger.info("controller stopped")
    }
}
