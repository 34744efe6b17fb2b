import ConductorAgent
import ConductorAPI
import ConductorTestSupport
import Foundation
import KubeClient
import KubeJSON
import Synchronization
import Testing

/// A control plane for one test: a real `conductor apiserver`, the CRDs and the mcp-system namespace, one or
/// more `conductor run` replicas, and simulated agents on the agent runtime (each with its own client, as pods
/// would have), all over HTTPS/HTTP/2 on loopback.
struct ControlPlane {
    static let namespace = "default"

    let server: APIServerProcess
    let client: KubeClient
    let controllers: [ControllerProcess]
    let tasks: ResourceClient<TaskResource>
    let agents: ResourceClient<Agent>
    private let fleet: AgentFleet

    /// Flags every replica gets: quick retries, so that tests of them are short.
    static let quickRetries = ["--retry-backoff-base", "0.2", "--retry-backoff-cap", "2"]

    /// - Parameter existing: writes what the cluster holds before the replicas start (a restart's situation).
    static func run(replicas: Int = 1, controllerArguments: [String] = quickRetries,
                    existing: (KubeClient) async throws -> Void = { _ in },
                    _ body: (ControlPlane) async throws -> Void) async throws {
        try await withServer { server, client in
            try await applyProjectCRDs(client)
            _ = try? await client.resource(ResourceDescriptor(group: "", version: "v1", plural: "namespaces", kind: "Namespace", namespaced: false))
                .create(["apiVersion": "v1", "kind": "Namespace", "metadata": ["name": .string(Installation.systemNamespace)]])
            try await existing(client)
            var controllers: [ControllerProcess] = []
            for index in 0..<replicas {
                let identity = "controller-\(index)"
                let arguments = replicas > 1 ? controllerArguments + ["--leader-elect", "--leader-election-identity", identity] : controllerArguments
                controllers.append(try ControllerProcess(server: server, identity: identity, arguments: arguments))
            }
            let fleet = AgentFleet()
            let plane = ControlPlane(server: server, client: client, controllers: controllers,
                                     tasks: client.resource(TaskResource.self, namespace: namespace),
                                     agents: client.resource(Agent.self, namespace: Installation.systemNamespace), fleet: fleet)
            do {
                for controller in controllers { try await controller.start() }
                try await body(plane)
            } catch {
                for controller in controllers {
                    print("--- \(controller.identity) log (tail) ---\n\(controller.log.suffix(6000))")
                }
                await fleet.stopAll()
                for controller in controllers { await controller.kill() }
                throw error
            }
            await fleet.stopAll()
            for controller in controllers { await controller.kill() }
        }
    }

    // MARK: Agents

    /// Starts a simulated agent: it registers, heartbeats four times per Lease (5 s by default, so that a busy
    /// machine never makes a live agent look lost; tests of a lost agent give it 1 s), and runs what it is
    /// assigned with `handler`. Returns once the controller has marked it Ready.
    @discardableResult
    func startAgent(_ name: String, capabilities: [String] = ["echo"], slots: Int = 1, tags: [String] = [],
                    resources: ComputeResources? = nil, leaseSeconds: Int = 5, selectTasksByLabel: Bool = false,
                    link: any AgentLink = UncutLink(),
                    handler: @escaping TaskHandler = SimulatedWork.echo) async throws -> AgentRuntime {
        let agentClient = try KubeClient(config: try server.clientConfig())
        let runtime = AgentRuntime(
            client: agentClient,
            configuration: AgentConfiguration(
                name: name, spec: AgentSpec(capabilities: capabilities, resources: resources, tags: tags, maxConcurrentTasks: slots),
                heartbeatInterval: .milliseconds(250 * leaseSeconds), leaseDurationSeconds: leaseSeconds,
                selectTasksByLabel: selectTasksByLabel),
            link: link, handler: handler)
        await fleet.add(runtime, client: agentClient)
        try await waitUntil("agent \(name) is Ready") {
            (try? await agents.get(name))?.status.phase == .ready
        }
        return runtime
    }

    /// Stops every agent started so far (cancels their runs and waits for them to end).
    func stopAgents() async {
        await fleet.stopAll()
    }

    // MARK: Tasks

    @discardableResult
    func createTask(_ name: String, capabilities: [String] = ["echo"], priority: Int? = nil, payload: JSON = ["n": 1],
                    deadline: Timestamp? = nil, retryPolicy: RetryPolicy? = nil, resources: ComputeResources? = nil,
                    affinity: TaskAffinity? = nil) async throws -> TaskResource {
        try await tasks.create(TaskResource(
            metadata: ObjectMeta(name: name, namespace: Self.namespace),
            spec: TaskSpec(requiredCapabilities: capabilities, priority: priority, payload: payload, deadline: deadline,
                           retryPolicy: retryPolicy, resources: resources, affinity: affinity)))
    }

    /// Waits until the stored task satisfies `condition`; the failure names the last version read.
    @discardableResult
    func waitForTask(_ name: String, _ what: String, timeout: Duration = .seconds(20),
                     _ condition: @escaping (TaskResource) -> Bool) async throws -> TaskResource {
        var last: TaskResource?
        do {
            try await waitUntil("\(name): \(what)", timeout: timeout) {
                last = try await tasks.get(name)
                return last.map(condition) ?? false
            }
        } catch let failure as TestFailure {
            throw TestFailure("\(failure); last read: \(last.map { "\($0.status)" } ?? "none")")
        }
        return last!
    }

    @discardableResult
    func waitForFinal(_ name: String, timeout: Duration = .seconds(20)) async throws -> TaskResource {
        try await waitForTask(name, "final", timeout: timeout) { $0.status.isFinal }
    }

    /// The Events recorded about the object (namespace/name), oldest first.
    func events(about name: String, namespace: String = ControlPlane.namespace) async throws -> [(reason: String, message: String)] {
        let list = try await client.resource(ResourceDescriptor(group: "", version: "v1", plural: "events", kind: "Event", namespaced: true),
                                             namespace: namespace).list()
        return list.items
            .filter { $0["involvedObject"]?["name"]?.string == name }
            .map { ($0["reason"]?.string ?? "", $0["message"]?.string ?? "") }
    }

    /// Waits until an Event with `reason` about the object exists.
    func waitForEvent(_ reason: String, about name: String, namespace: String = ControlPlane.namespace) async throws {
        try await waitUntil("an Event \(reason) about \(name)") {
            try await events(about: name, namespace: namespace).contains { $0.reason == reason }
        }
    }
}

/// The agents of a control plane, stopped when the test ends.
actor AgentFleet {
    private var running: [(runtime: AgentRuntime, task: Task<Void, any Error>, client: KubeClient)] = []

    func add(_ runtime: AgentRuntime, client: KubeClient) {
        running.append((runtime, Task { try await runtime.run() }, client))
    }

    func stopAll() async {
        for agent in running {
            agent.task.cancel()
            _ = await agent.task.result
            await agent.client.shutdown()
        }
        running.removeAll()
    }
}

/// Handlers for simulated agents.
enum SimulatedWork {
    /// Answers with the payload.
    static let echo: TaskHandler = { task in ["echo": task.spec.payload ?? .null] }
}

/// Holds every attempt of a handler until released (or cancelled), and records the attempts that reached it.
final class HeldWork: Sendable {
    private struct State {
        var released = false
        var waiting: [Int: CheckedContinuation<Void, Never>] = [:]
        var nextID = 0
        var started: [String] = []
    }

    private let state = Mutex(State())

    /// The handler: waits for `release()`, then answers; a cancelled attempt throws `CancellationError`.
    var handler: TaskHandler {
        { task in
            await self.hold(task.name)
            try Task.checkCancellation()
            return ["held": true]
        }
    }

    /// Names of the tasks whose attempts started, in order.
    var started: [String] { state.withLock { $0.started } }

    func release() {
        let waiting = state.withLock { state in
            state.released = true
            defer { state.waiting.removeAll() }
            return Array(state.waiting.values)
        }
        for waiter in waiting { waiter.resume() }
    }

    private func hold(_ name: String) async {
        let id = state.withLock { state in
            state.started.append(name)
            state.nextID += 1
            return state.nextID
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (waiter: CheckedContinuation<Void, Never>) in
                // Under the lock with the cancellation handler's removal, so that one of them resumes it.
                let resumeNow = state.withLock { state -> Bool in
                    if state.released || Task.isCancelled { return true }
                    state.waiting[id] = waiter
                    return false
                }
                if resumeNow { waiter.resume() }
            }
        } onCancel: {
            state.withLock { $0.waiting.removeValue(forKey: id) }?.resume()
        }
    }
}
