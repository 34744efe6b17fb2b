import KubeClient
import KubeJSON

/// An `mcp.io/v1` Agent (deploy/crds/agents.mcp.io.yaml): a worker that registered what it can do and
/// executes Tasks. The agent writes its spec when it registers; its status is kept by the agent and by the
/// controller's health monitor.
public struct Agent: SpecAndStatusResource {
    public static let resource = ResourceDescriptor.agents

    public var apiVersion: String = ResourceDescriptor.agents.apiVersion
    public var kind: String = ResourceDescriptor.agents.kind
    public var metadata: ObjectMeta
    @OmitEmpty public var spec: AgentSpec
    @OmitEmpty public var status: AgentStatus

    public init(metadata: ObjectMeta, spec: AgentSpec = AgentSpec(), status: AgentStatus = AgentStatus()) {
        self.metadata = metadata
        self.spec = spec
        self.status = status
    }
}

/// What an agent offers.
public struct AgentSpec: EmptyDefaultable, Sendable {
    /// The capabilities it can handle; a task is assigned only to an agent offering all it requires.
    @OmitEmpty public var capabilities: [String]
    /// The resources it has for its tasks.
    public var resources: ComputeResources?
    /// Scheduling tags, matched by a task's affinity.
    @OmitEmpty public var tags: [String]
    /// At most this many tasks at once (Assigned or Running); nil means the controller's default
    /// (`Defaults.maxConcurrentTasks`). At least 1.
    public var maxConcurrentTasks: Int?
    /// Per capability, how it is offered as an MCP tool.
    @OmitEmpty public var capabilityDetails: [CapabilityDetail]
    /// When true it takes no new tasks and finishes the ones it has.
    public var draining: Bool?

    public init(capabilities: [String] = [], resources: ComputeResources? = nil, tags: [String] = [], maxConcurrentTasks: Int? = nil,
                capabilityDetails: [CapabilityDetail] = [], draining: Bool? = nil) {
        self.capabilities = capabilities
        self.resources = resources
        self.tags = tags
        self.maxConcurrentTasks = maxConcurrentTasks
        self.capabilityDetails = capabilityDetails
        self.draining = draining
    }

    public init() { self.init(capabilities: []) }

    public var isEmpty: Bool { self == AgentSpec() }

    /// `draining`, false when unset.
    public var isDraining: Bool { draining ?? false }

    /// `maxConcurrentTasks`, or the controller's default when unset.
    public var effectiveMaxConcurrentTasks: Int { maxConcurrentTasks ?? Defaults.maxConcurrentTasks }
}

/// How one capability is offered as an MCP tool.
public struct CapabilityDetail: Codable, Sendable, Hashable {
    /// The capability, as in `capabilities`; also the tool's name. 1 to 128 characters.
    public var name: String
    public var title: String?
    /// Shown to MCP clients as the tool's description.
    public var description: String?
    /// JSON Schema (an object schema) of the payload it accepts: the tool's input schema.
    public var inputSchema: JSON?
    /// JSON Schema of the result it returns, if known.
    public var outputSchema: JSON?

    public init(name: String, title: String? = nil, description: String? = nil, inputSchema: JSON? = nil, outputSchema: JSON? = nil) {
        self.name = name
        self.title = title
        self.description = description
        self.inputSchema = inputSchema
        self.outputSchema = outputSchema
    }
}

/// CPU, memory and GPU: what an agent has (`AgentSpec.resources`) or a task needs (`TaskSpec.resources`).
public struct ComputeResources: Codable, Sendable, Hashable {
    /// CPUs, for example `2` or `500m`.
    public var cpu: Quantity?
    /// Bytes, for example `4Gi`.
    public var memory: Quantity?
    /// For an agent, whether it has a GPU; for a task, whether it needs one.
    public var gpu: Bool?

    public init(cpu: Quantity? = nil, memory: Quantity? = nil, gpu: Bool? = nil) {
        self.cpu = cpu
        self.memory = memory
        self.gpu = gpu
    }
}

/// An agent's health and load.
public struct AgentStatus: EmptyDefaultable, Sendable {
    public var phase: AgentPhase?
    /// Written now and then; the heartbeat proper is the agent's Lease (`HeartbeatLease`).
    public var lastHeartbeat: Timestamp?
    /// Tasks assigned to it now (Assigned or Running).
    public var currentTasks: Int?
    /// `ConditionType.ready` and `.draining`.
    @OmitEmpty public var conditions: [Condition]

    public init(phase: AgentPhase? = nil, lastHeartbeat: Timestamp? = nil, currentTasks: Int? = nil, conditions: [Condition] = []) {
        self.phase = phase
        self.lastHeartbeat = lastHeartbeat
        self.currentTasks = currentTasks
        self.conditions = conditions
    }

    public init() { self.init(phase: nil) }

    public var isEmpty: Bool { self == AgentStatus() }
}

/// An agent's operational status (`status.phase`).
public enum AgentPhase: String, Codable, Sendable, Hashable, CaseIterable {
    /// Its heartbeat is current: it may be assigned tasks.
    case ready = "Ready"
    /// Its heartbeat expired, or it said it is not ready: it gets no tasks, and the ones it held went back to Pending.
    case notReady = "NotReady"
    /// Not known yet (registered, no heartbeat seen).
    case unknown = "Unknown"
}
